#!/usr/bin/env bash
# Runs a command with a private, unlocked Secret Service (gnome-keyring), so the keychain tests
# use a real OS keychain. Call inside `dbus-run-session`. The keyring lives in a temporary folder
# and is thrown away afterwards.
set -euo pipefail
export XDG_DATA_HOME
XDG_DATA_HOME=$(mktemp -d)
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
if printf 'scanmail-test-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; then
  export SCANMAIL_KEYCHAIN_TEST=1
else
  echo "gnome-keyring did not start: the real-keychain test will be skipped" >&2
fi
"$@"
