#!/usr/bin/env python3
"""The receiving core under attack, measured (loopback only).

For each attack, a fresh `scanmail listen` (release build) is started; the attack comes from
127.0.0.1; once it is under way, a well-behaved copier from 127.0.0.2 sends a small scan. Printed
per attack: the copier's wait (connect to the final 250), the listener's peak memory (VmHWM) and
its CPU use in the 2 s after the attack stopped. Usage: bench-hostile.py PATH-TO-SCANMAIL
"""

import os
import socket
import subprocess
import sys
import threading
import time

BIN = sys.argv[1]
PORT = 2700
results = []


def listener(limit_files=None):
    global PORT
    PORT += 1
    cmd = [BIN, "listen", "--port", str(PORT), "--address", "0.0.0.0", "--seconds", "300",
           "--json", "--idle", "10"]
    if limit_files:
        cmd = ["bash", "-c", f"ulimit -n {limit_files} && exec " + " ".join(cmd)]
    env = dict(os.environ, SCANMAIL_ORG="/nonexistent")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return p


def connect(src="127.0.0.1", timeout=30):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", PORT))
    return s


def reply(f):
    while True:
        line = f.readline()
        if not line or len(line) < 4 or line[3:4] == b" ":
            return line


def good_copier():
    """Seconds from connect to the 250 after the message."""
    t0 = time.monotonic()
    s = connect("127.0.0.2", timeout=60)
    f = s.makefile("rb")
    reply(f)
    last = b""
    for cmd in [b"EHLO good-copier\r\n", b"MAIL FROM:<scanner@lab.example>\r\n",
                b"RCPT TO:<me@lab.example>\r\n", b"DATA\r\n",
                b"From: scanner@lab.example\r\nSubject: scan\r\n\r\npage 1\r\n.\r\n"]:
        s.sendall(cmd)
        last = reply(f)
    t = time.monotonic() - t0
    s.close()
    assert last.startswith(b"250"), last
    return t


def stat(pid):
    with open(f"/proc/{pid}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    ticks = int(parts[11]) + int(parts[12])
    return hwm, ticks


def cpu_after(pid, seconds=2.0):
    _, a = stat(pid)
    time.sleep(seconds)
    _, b = stat(pid)
    return 100.0 * (b - a) / os.sysconf("SC_CLK_TCK") / seconds


def run(name, attack, limit_files=None):
    p = listener(limit_files)
    stop = threading.Event()
    held = []
    t = threading.Thread(target=attack, args=(stop, held), daemon=True)
    t.start()
    time.sleep(1.0)
    wait = good_copier()
    stop.set()
    t.join(timeout=120)
    for s in held:
        try:
            s.close()
        except OSError:
            pass
    cpu = cpu_after(p.pid)
    hwm, _ = stat(p.pid)
    p.kill()
    p.wait()
    results.append((name, wait, hwm / 1024, cpu))
    print(f"{name:<42} good copier {wait * 1000:7.0f} ms   peak {hwm / 1024:6.1f} MB   "
          f"CPU after {cpu:5.1f} %", flush=True)


def quiet(stop, held):
    stop.wait()


def many(stop, held):
    for _ in range(300):
        try:
            held.append(connect())
        except OSError:
            pass
    stop.wait()


def slow(stop, held):
    for _ in range(50):
        try:
            s = connect()
            s.sendall(b"E")
            held.append(s)
        except OSError:
            pass
    while not stop.wait(5):
        for s in held:
            try:
                s.sendall(b"H")
            except OSError:
                pass


def no_line_end(stop, held):
    s = connect(timeout=120)
    held.append(s)
    f = s.makefile("rb")
    reply(f)
    for cmd in [b"MAIL FROM:<a@b>\r\n", b"RCPT TO:<c@d>\r\n", b"DATA\r\n"]:
        s.sendall(cmd)
        reply(f)
    chunk = b"A" * (1 << 20)
    for _ in range(200):
        s.sendall(chunk)
    s.sendall(b"\r\n.\r\n")
    reply(f)


def pipeline(first, line, count):
    def attack(stop, held):
        s = connect()
        held.append(s)
        try:
            s.sendall(first + line * count)
            while s.recv(65536):
                pass
        except OSError:
            pass
        stop.wait()
    return attack


def random_tls(stop, held):
    junk = bytes((i * 151 + 7) % 256 for i in range(64 * 1024))
    while not stop.is_set():
        try:
            s = connect()
            s.sendall(b"EHLO x\r\nSTARTTLS\r\n")
            time.sleep(0.05)
            s.sendall(junk)
            s.close()
        except OSError:
            time.sleep(0.05)


def not_reading(stop, held):
    s = connect()
    held.append(s)
    s.settimeout(5)
    noops = b"NOOP\r\n" * 100_000
    try:
        for _ in range(100):
            s.sendall(noops)
    except OSError:
        pass
    stop.wait()


def trickled_handshakes(stop, held):
    """10 addresses x 4: STARTTLS, a TLS record header, then one byte every 2 s."""
    for a in range(10):
        for _ in range(4):
            try:
                s = connect(f"127.0.1.{10 + a}")
                s.sendall(b"STARTTLS\r\n")
                s.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00]))
                held.append(s)
            except OSError:
                pass
    while not stop.wait(2):
        for s in held:
            try:
                s.sendall(b"\x01")
            except OSError:
                pass


def non_ascii_lines(stop, held):
    """Lines that once panicked a session (a character across a byte offset), again and again."""
    lines = "MAIL €€\r\nRCPT TO:€€\r\n€HLO\r\nMAIL FROM:<€@€>\r\n".encode() * 4
    while not stop.is_set():
        try:
            s = connect()
            s.sendall(lines)
            s.close()
        except OSError:
            time.sleep(0.01)


def fuzzed_lines(stop, held):
    """Random command lines from 8 connections at a time, each closed after its lines."""
    import random
    rng = random.Random(7)
    def one():
        while not stop.is_set():
            try:
                s = connect()
                junk = b"".join(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
                                .replace(b"\n", b"") + b"\r\n" for _ in range(30))
                s.sendall(junk)
                s.close()
            except OSError:
                time.sleep(0.01)
    workers = [threading.Thread(target=one, daemon=True) for _ in range(8)]
    for w in workers:
        w.start()
    stop.wait()
    for w in workers:
        w.join(timeout=10)


print(f"scanmail listen under attack ({BIN}), loopback, {time.strftime('%Y-%m-%d')}")
run("quiet (no attack)", quiet)
run("300 connections at once", many)
run("50 slow clients (a byte every 5 s)", slow)
run("DATA + 200 MB without a line end", no_line_end)
run("10,000 RCPTs", pipeline(b"EHLO x\r\nMAIL FROM:<a@b>\r\n", b"RCPT TO:<c@d>\r\n", 10_000))
run("AUTH before TLS x 1,000", pipeline(b"EHLO x\r\n", b"AUTH PLAIN AGEAYg==\r\n", 1000))
run("random bytes instead of a TLS hello", random_tls)
run("a client that stops reading", not_reading)
run("64 file handles, 200 clients", many, limit_files=64)
run("trickled TLS handshakes, 10 addresses x 4", trickled_handshakes)
run("non-ASCII command lines (once a panic)", non_ascii_lines)
run("fuzzed command lines, 8 connections", fuzzed_lines)
worst = max(r[1] for r in results)
peak = max(r[2] for r in results)
print(f"worst good-copier wait {worst * 1000:.0f} ms; highest peak memory {peak:.1f} MB")
