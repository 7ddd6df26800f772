#!/usr/bin/env bash
# Installs ScanMail on Linux for the whole computer, where the relay's service accepts it:
# /usr/local/bin/scanmail (root's, 0755), with a menu entry for the window.
#
#   sudo bash scripts/install-linux.sh              # the window and the command line
#   sudo bash scripts/install-linux.sh --no-window  # the command line only (a server)
#   sudo bash scripts/install-linux.sh --remove
#
# It builds the program from this folder with cargo (as the person who ran sudo, so the build
# does not belong to root), then copies it into place. Then, for the relay:
#   sudo scanmail relay init --account ADDRESS   (see docs/relay.md)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${PREFIX:-/usr/local}
bin="$prefix/bin/scanmail"
desktop="$prefix/share/applications/scanmail.desktop"
icon="$prefix/share/icons/hicolor/scalable/apps/scanmail.svg"

if [ "$(id -u)" != 0 ]; then
  echo "install-linux: run it as root: sudo bash scripts/install-linux.sh $*" >&2
  exit 1
fi
if [ "${1:-}" = --remove ]; then
  rm -f "$bin" "$desktop" "$icon"
  echo "Removed $bin and its menu entry. The relay's settings in /etc/scanmail stay."
  echo "A relay service still installed: sudo scanmail relay uninstall-service first."
  exit 0
fi

features=()
window=yes
if [ "${1:-}" = --no-window ]; then features=(--no-default-features); window=no; fi

# Build as the person behind sudo when there is one (their cargo, their build folder).
as_user=()
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then as_user=(sudo -u "$SUDO_USER" --preserve-env=CARGO_TARGET_DIR,PATH); fi
target=${CARGO_TARGET_DIR:-$(pwd)/target}
"${as_user[@]}" cargo build --release --locked "${features[@]}" --bin scanmail

install -d -m 0755 "$prefix/bin"
install -m 0755 -o root -g root "$target/release/scanmail" "$bin"
if [ "$window" = yes ]; then
  install -d -m 0755 "$(dirname "$desktop")" "$(dirname "$icon")"
  install -m 0644 -o root -g root resources/icon.svg "$icon"
  cat > "$desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=ScanMail
Comment=Get a copier sending scans by email, and prove it works
Exec=$bin
Icon=scanmail
Categories=Office;Utility;
DESKTOP
  chmod 0644 "$desktop"
fi
echo "Installed $bin ($("$bin" --version 2>/dev/null || echo ScanMail))."
echo "For the relay: sudo scanmail relay init --account ADDRESS (see docs/relay.md)."
