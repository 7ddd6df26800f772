#!/usr/bin/env bash
# Looks at the real window as a person would: runs it under Xvfb against the loopback Postfix,
# fills the four steps with xdotool, saves screenshots (light and dark) to resources/screenshots/,
# and measures start-up time, memory after a test send, and CPU while idle.
# Needs root on Debian (installs xvfb, xdotool, imagemagick if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export MTA_DIR=${MTA_DIR:-/tmp/scanmail-mta}

need=()
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xdotool >/dev/null || need+=(xdotool)
command -v import >/dev/null || need+=(imagemagick)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
(exec 3<>/dev/tcp/127.0.0.1/465) 2>/dev/null || bash tests/mta/start.sh
cargo build --release --locked --quiet
bin=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/scanmail
out=resources/screenshots
mkdir -p "$out"

export DISPLAY=:97
Xvfb "$DISPLAY" -screen 0 1280x900x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 1

shot() { sleep 0.6; import -window "$win" "$out/$1.png"; }

for theme in light dark; do
  start=$(date +%s%N)
  # The test server's CA is trusted through SSL_CERT_FILE, as an organization's CA would be.
  # Each run starts with no saved devices.
  config=$(mktemp -d)
  SCANMAIL_CONFIG_DIR=$config SSL_CERT_FILE="$MTA_DIR/ca.pem" SCANMAIL_THEME=$theme "$bin" >/dev/null 2>&1 &
  app=$!
  win=$(xdotool search --sync --onlyvisible --name "ScanMail" | head -1)
  shown=$(date +%s%N)
  xdotool windowfocus --sync "$win"
  sleep 0.5

  # 1. Account: the address is focused at start; Tab moves to the password.
  xdotool type --delay 15 "lab-scanner@example.test"
  xdotool key Tab
  xdotool type --delay 15 --file "$MTA_DIR/password"
  shot "$theme-1-account"

  # Name the device (the list above the steps: Rename).
  xdotool mousemove 85 151 click 1; sleep 0.3
  xdotool mousemove 115 120 click 1; sleep 0.2
  xdotool key ctrl+a
  xdotool type --delay 15 "Warren 2nd floor scanner"
  xdotool key Return

  # 2. Device (the steps sit below the device list: 230, 273, 316, 358).
  xdotool mousemove 100 273 click 1; sleep 0.3
  xdotool mousemove 600 180 click 1
  xdotool type --delay 15 "Konica Minolta"
  xdotool key Tab
  xdotool type --delay 15 "bizhub C300i"
  shot "$theme-2-device"

  # 3. Test send against the loopback server.
  xdotool mousemove 100 316 click 1; sleep 0.3
  xdotool mousemove 600 182 click 1
  xdotool key ctrl+a
  xdotool type --delay 15 "localhost"
  xdotool key Return
  sleep 2
  shot "$theme-3-test-send"
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$app/status")

  # 4. Settings card.
  xdotool mousemove 100 358 click 1
  shot "$theme-4-card"

  # Idle CPU over 10 s.
  t0=$(awk '{print $14+$15}' "/proc/$app/stat"); sleep 10; t1=$(awk '{print $14+$15}' "/proc/$app/stat")
  hz=$(getconf CLK_TCK)
  echo "$theme: window shown after $(( (shown - start) / 1000000 )) ms; peak RSS after a test send $((rss / 1024)) MiB; idle CPU $(python3 -c "print(round(($t1-$t0)/$hz/10*100, 2))") %"
  kill "$app"; wait "$app" 2>/dev/null || true
  rm -rf "$config"
done
# Failures, as people meet them (light theme): a wrong password against the real Postfix, a
# Microsoft 365 look-alike with password sign-in turned off, and a server that never answers
# (photographed while it is being tested, with the time moving).
fake=""
trap 'kill $xvfb $fake 2>/dev/null || true' EXIT
failure() { # name, preset server, ssl port, starttls port, password, seconds to wait
  local name=$1 server=$2 ssl=$3 starttls=$4 password=$5 wait=$6
  config=$(mktemp -d)
  printf 'organization = "Example University"\nhelp_desk = "scanners@it.example.edu"\nserver = "%s"\nssl_port = %s\nstarttls_port = %s\n' \
    "$server" "$ssl" "$starttls" > "$config/org.toml"
  SCANMAIL_CONFIG_DIR=$config SSL_CERT_FILE="$MTA_DIR/ca.pem" SCANMAIL_THEME=light "$bin" --org "$config/org.toml" >/dev/null 2>&1 &
  app=$!
  win=$(xdotool search --sync --onlyvisible --name "ScanMail" | head -1)
  xdotool windowfocus --sync "$win"
  sleep 0.5
  xdotool type --delay 15 "lab-scanner@example.test"
  xdotool key Tab
  xdotool type --delay 15 "$password"
  xdotool mousemove 100 316 click 1; sleep 0.3
  xdotool key Return
  sleep "$wait"
  shot "light-$name"
  kill "$app"; wait "$app" 2>/dev/null || true
  rm -rf "$config"
}
failure 5-wrong-password localhost 465 587 wrongwrongwrongw 4
python3 scripts/fake-smtp.py basic-auth "$MTA_DIR/server.pem" "$MTA_DIR/server.key" 2465 2587 &
fake=$!
sleep 0.5
failure 6-basic-auth-disabled localhost 2465 2587 abcdabcdabcdabcd 2
kill "$fake"; wait "$fake" 2>/dev/null || true
python3 scripts/fake-smtp.py silent 2466 2588 &
fake=$!
sleep 0.5
failure 7-silent-server localhost 2466 2588 abcdabcdabcdabcd 3
kill "$fake"; wait "$fake" 2>/dev/null || true
echo "screenshots in $out/"
