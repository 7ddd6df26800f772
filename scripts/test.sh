#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what the tests need, starts a real mail
# server (Postfix + Dovecot) on loopback and a private keychain (gnome-keyring on its own D-Bus),
# runs `cargo test`, and stops them again.
# Ends with one summary line: "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dbus-run-session >/dev/null || need+=(dbus)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
# The mDNS discovery test makes its own network namespace (ip netns, from iproute2).
command -v ip >/dev/null || need+=(iproute2)
# Real SMTP clients against the copier check and the relay: curl's and Python's smtplib.
command -v curl >/dev/null || need+=(curl)
# The relay's systemd unit is checked with systemd-analyze verify.
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

export MTA_DIR=${MTA_DIR:-/tmp/scanmail-mta}
bash tests/mta/start.sh
trap 'bash tests/mta/stop.sh >/dev/null' EXIT
# shellcheck disable=SC1091
source "$MTA_DIR/env"

log=$(mktemp)
status=0
dbus-run-session -- bash scripts/with-keyring.sh cargo test --locked "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"
