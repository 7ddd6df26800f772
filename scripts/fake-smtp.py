#!/usr/bin/env python3
"""A tiny SMTP look-alike on 127.0.0.1 for screenshots of failures (scripts/window-look.sh).

  fake-smtp.py silent PORT...                 accepts connections and never says a word
  fake-smtp.py basic-auth CERT KEY SSL STARTTLS
      answers like Microsoft 365 with password sign-in turned off:
      535 5.7.139 Authentication unsuccessful, basic authentication is disabled.

Loopback only; never relays or keeps anything; stops when killed.
"""
import asyncio
import ssl
import sys

HOST = "127.0.0.1"
NAME = "AM0PR01CA0001.outlook.office365.com"


async def silent(reader, writer):
    await asyncio.sleep(3600)


def m365(context, implicit):
    async def serve(reader, writer):
        async def say(*lines):
            writer.write("".join(line + "\r\n" for line in lines).encode())
            await writer.drain()

        await say(f"220 {NAME} Microsoft ESMTP MAIL Service ready")
        secure = implicit
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line.decode(errors="replace").split(" ")[0].strip().upper()
            if verb == "EHLO":
                extra = "250-AUTH LOGIN XOAUTH2" if secure else "250-STARTTLS"
                await say(f"250-{NAME} Hello", "250-SIZE 157286400", "250-PIPELINING", extra, "250 SMTPUTF8")
            elif verb == "STARTTLS" and not secure:
                await say("220 2.0.0 SMTP server ready")
                await writer.start_tls(context)
                secure = True
            elif verb == "AUTH":
                await say("535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]")
            elif verb == "QUIT":
                await say("221 2.0.0 Service closing transmission channel")
                return
            else:
                await say("503 5.5.2 Send hello first")

    return serve


async def main():
    mode = sys.argv[1]
    servers = []
    if mode == "silent":
        for port in sys.argv[2:]:
            servers.append(await asyncio.start_server(silent, HOST, int(port)))
    elif mode == "basic-auth":
        cert, key, ssl_port, starttls_port = sys.argv[2:6]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        servers.append(await asyncio.start_server(m365(context, True), HOST, int(ssl_port), ssl=context))
        servers.append(await asyncio.start_server(m365(context, False), HOST, int(starttls_port)))
    else:
        sys.exit(f"unknown mode {mode}")
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main())
