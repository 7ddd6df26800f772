#!/usr/bin/env bash
# Starts a real mail server for ScanMail's integration tests: Debian's Postfix with Dovecot SASL,
# on loopback only (127.0.0.1 and ::1), ports 465 (implicit TLS) and 587 (STARTTLS required),
# with a test CA made here. Mail for example.test lands in a local Maildir; every other
# destination is refused, so nothing can leave the machine.
#
#   tests/mta/start.sh            # installs packages if needed, starts, writes $MTA_DIR/env
#   source "$MTA_DIR/env"         # SCANMAIL_MTA_* variables for the tests
#   tests/mta/stop.sh             # stops both daemons by their pid files
#
# The account's password is random and kept in $MTA_DIR/password (mode 600); it is never put on
# a command line.
set -euo pipefail

MTA_DIR=${MTA_DIR:-/tmp/scanmail-mta}
SSL_PORT=${MTA_SSL_PORT:-465}
STARTTLS_PORT=${MTA_STARTTLS_PORT:-587}
ACCOUNT=${MTA_ACCOUNT:-lab-scanner@example.test}
here=$(cd "$(dirname "$0")" && pwd)

need=()
command -v postfix >/dev/null || need+=(postfix)
command -v dovecot >/dev/null || need+=(dovecot-core)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

"$here/stop.sh" >/dev/null 2>&1 || true
rm -rf "$MTA_DIR"
mkdir -p "$MTA_DIR"/{postfix,spool,data,mail,dovecot-run,home}
chmod 755 "$MTA_DIR"
cd "$MTA_DIR"

# Test CA and server certificate for localhost, 127.0.0.1 and ::1.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=ScanMail MTA Test CA" \
  -keyout ca.key -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
  -extfile server.ext -out server.pem 2>/dev/null
chmod 600 server.key ca.key

# The account: a random app-password-like secret, in a file only root reads.
umask 077
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > password
printf '%s:{PLAIN}%s\n' "$ACCOUNT" "$(cat password)" > users
umask 022
chown dovecot: users 2>/dev/null || true

listen=("127.0.0.1")
[ -e /proc/net/if_inet6 ] && ip -6 addr show lo 2>/dev/null | grep -q '::1' && listen+=("[::1]")

cat > dovecot.conf <<CONF
protocols =
base_dir = $MTA_DIR/dovecot-run
log_path = $MTA_DIR/dovecot.log
ssl = no
auth_mechanisms = plain login
# Answer wrong passwords at once, so tests do not wait (real servers may pause).
auth_failure_delay = 0
disable_plaintext_auth = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $MTA_DIR/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$MTA_DIR/home
}
service auth {
  unix_listener $MTA_DIR/spool/private/auth {
    mode = 0666
  }
}
CONF

chown nobody:nogroup mail
chown postfix: data

cat > postfix/main.cf <<CONF
compatibility_level = 3.6
queue_directory = $MTA_DIR/spool
data_directory = $MTA_DIR/data
maillog_file = $MTA_DIR/postfix.log
maillog_file_prefixes = $MTA_DIR
myhostname = mail.scanmail.test
mydomain = scanmail.test
myorigin = scanmail.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = example.test
virtual_mailbox_base = $MTA_DIR/mail
virtual_mailbox_maps = static:mailbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
# Nothing leaves this machine.
default_transport = error:outside mail is disabled on the ScanMail test server
relay_transport = error:outside mail is disabled on the ScanMail test server
relayhost =
smtpd_tls_cert_file = $MTA_DIR/server.pem
smtpd_tls_key_file = $MTA_DIR/server.key
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_delay_reject = yes
smtputf8_enable = no
biff = no
CONF

{
  for addr in "${listen[@]}"; do
    cat <<CONF
$addr:$STARTTLS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
$addr:$SSL_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
CONF
  done
  cat <<'CONF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
} > postfix/master.cf

# Postfix re-reads a main.cf younger than about a second; make it look older.
touch -d '-1 minute' postfix/main.cf postfix/master.cf

postfix -c "$MTA_DIR/postfix" check   # also creates the queue directories
dovecot -c "$MTA_DIR/dovecot.conf" </dev/null >/dev/null 2>&1
postfix -c "$MTA_DIR/postfix" start >/dev/null 2>&1

# Wait until both ports answer (at most 15 s).
for _ in $(seq 1 150); do
  if (exec 3<>/dev/tcp/127.0.0.1/$STARTTLS_PORT) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$SSL_PORT) 2>/dev/null; then
    break
  fi
  sleep 0.1
done
(exec 3<>/dev/tcp/127.0.0.1/$STARTTLS_PORT) 2>/dev/null || { echo "postfix did not start; see $MTA_DIR/postfix.log" >&2; cat "$MTA_DIR/postfix.log" >&2 || true; exit 1; }

cat > env <<ENV
export SCANMAIL_MTA_HOST=localhost
export SCANMAIL_MTA_SSL_PORT=$SSL_PORT
export SCANMAIL_MTA_STARTTLS_PORT=$STARTTLS_PORT
export SCANMAIL_MTA_CA=$MTA_DIR/ca.pem
export SCANMAIL_MTA_USER=$ACCOUNT
export SCANMAIL_MTA_PASSWORD_FILE=$MTA_DIR/password
export SCANMAIL_MTA_MAILDIR=$MTA_DIR/mail/mailbox
ENV
echo "mail server up: ${listen[*]} ports $SSL_PORT (SSL) and $STARTTLS_PORT (STARTTLS); env in $MTA_DIR/env"
