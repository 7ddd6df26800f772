#!/usr/bin/env bash
# Builds ScanMail.app and a .dmg on a Mac:
#   scripts/macos-bundle.sh              universal binary (arm64 + x86_64), dist/ScanMail.app,
#                                        dist/ScanMail-<version>.dmg
#   scripts/macos-bundle.sh --dry-run [--out DIR]
#                                        anywhere (Linux too): the same bundle tree with a stand-in
#                                        executable, and the Info.plist checked; nothing is built.
# The organization preset is not inside the app: IT puts it at
# /Library/Application Support/ScanMail/org.toml (README "For IT").
set -euo pipefail
cd "$(dirname "$0")/.."

dry=0
out=dist
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --out) out=$2; shift ;;
    *) echo "usage: $0 [--dry-run] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
app="$out/ScanMail.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"

if [ "$dry" = 1 ]; then
  printf '#!/bin/sh\necho "ScanMail %s (dry-run stand-in)"\n' "$version" > "$app/Contents/MacOS/ScanMail"
else
  [ "$(uname -s)" = Darwin ] || { echo "Building the app needs a Mac (use --dry-run elsewhere)." >&2; exit 2; }
  rustup target add aarch64-apple-darwin x86_64-apple-darwin
  cargo build --release --locked --bin scanmail --target aarch64-apple-darwin
  cargo build --release --locked --bin scanmail --target x86_64-apple-darwin
  target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  lipo -create -output "$app/Contents/MacOS/ScanMail" \
    "$target_dir/aarch64-apple-darwin/release/scanmail" "$target_dir/x86_64-apple-darwin/release/scanmail"
fi
chmod 755 "$app/Contents/MacOS/ScanMail"
sed "s/@VERSION@/$version/g" resources/macos/Info.plist.in > "$app/Contents/Info.plist"
printf 'APPL????' > "$app/Contents/PkgInfo"
cp resources/icons/scanmail.icns "$app/Contents/Resources/scanmail.icns"

# The plist must parse and name what the bundle holds.
python3 - "$app" "$version" <<'PY'
import plistlib, sys, os
app, version = sys.argv[1], sys.argv[2]
with open(os.path.join(app, "Contents/Info.plist"), "rb") as f:
    p = plistlib.load(f)
need = {"CFBundleIdentifier": "org.scanmail.ScanMail", "CFBundleExecutable": "ScanMail",
        "CFBundleShortVersionString": version, "CFBundleIconFile": "scanmail.icns", "CFBundlePackageType": "APPL"}
for k, v in need.items():
    assert p.get(k) == v, f"Info.plist {k} is {p.get(k)!r}, expected {v!r}"
assert p.get("LSMinimumSystemVersion") and p.get("NSHumanReadableCopyright")
assert os.access(os.path.join(app, "Contents/MacOS", p["CFBundleExecutable"]), os.X_OK)
assert os.path.isfile(os.path.join(app, "Contents/Resources", p["CFBundleIconFile"]))
print(f"{app}: Info.plist and bundle tree OK (version {version})")
PY

if [ "$dry" = 0 ]; then
  command -v plutil >/dev/null && plutil -lint "$app/Contents/Info.plist"
  staging=$(mktemp -d)
  cp -R "$app" "$staging/"
  ln -s /Applications "$staging/Applications"
  hdiutil create -volname "ScanMail" -srcfolder "$staging" -ov -format UDZO "$out/ScanMail-$version.dmg"
  rm -rf "$staging"
  echo "built $out/ScanMail-$version.dmg"
fi
