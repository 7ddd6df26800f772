#!/usr/bin/env bash
# Compares `scanmail check` (both ports at once) with Debian's swaks doing the same two sends
# one after the other, against the loopback Postfix from tests/mta/start.sh. Prints hyperfine's
# table and the ratio of medians. Needs: hyperfine, swaks (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export MTA_DIR=${MTA_DIR:-/tmp/scanmail-mta}
RUNS=${RUNS:-30}

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v swaks >/dev/null || need+=(swaks)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -f "$MTA_DIR/env" ] || bash tests/mta/start.sh
# shellcheck disable=SC1091
source "$MTA_DIR/env"
cargo build --release --locked --quiet
bin=${CARGO_TARGET_DIR:-target}/release/scanmail

# The password travels in the environment only; the commands read it from there.
SM_BENCH_PW=$(cat "$SCANMAIL_MTA_PASSWORD_FILE")
export SM_BENCH_PW
u=$SCANMAIL_MTA_USER
sm="$bin check --server localhost --user $u --password-env SM_BENCH_PW --ca-file $SCANMAIL_MTA_CA"
# swaks reads the password from its SWAKS_OPT_auth_password environment variable, so it is not
# on any command line either. TLS is verified against the same CA.
export SWAKS_OPT_auth_password="$SM_BENCH_PW"
sw="swaks -s localhost --from $u --to $u --auth LOGIN --auth-user $u --tls-verify --tls-ca-path $SCANMAIL_MTA_CA -S 2"
out=$(mktemp -d)
hyperfine --warmup 3 --runs "$RUNS" --export-json "$out/h.json" -N \
  "$sm" \
  "bash -c '$sw -p $SCANMAIL_MTA_SSL_PORT --tlsc && $sw -p $SCANMAIL_MTA_STARTTLS_PORT --tls'"
python3 - "$out/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
a, b = r[0]["median"], r[1]["median"]
print(f"median scanmail check (both ports at once): {a*1000:.1f} ms")
print(f"median swaks, 465 then 587:                 {b*1000:.1f} ms")
print(f"swaks / scanmail: {b/a:.2f}x")
PY
