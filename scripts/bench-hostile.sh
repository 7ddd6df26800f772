#!/usr/bin/env bash
# The receiving core under attack: peak memory, a good copier's wait and the CPU after each
# attack, for `scanmail listen` built in release mode without the window. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/scanmail/target}
cargo build --release --locked --quiet --no-default-features --bin scanmail
python3 scripts/bench-hostile.py "$CARGO_TARGET_DIR/release/scanmail"
