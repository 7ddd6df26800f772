#!/usr/bin/env bash
# Builds the Windows installer on Linux: cross-compiles scanmail.exe and scanmail-cli.exe for
# x86_64-pc-windows-gnu (Debian's mingw-w64) and packs them with Debian's wixl into
#   dist/ScanMail-<version>-x86_64.msi
# wixl has no dialogs, so this MSI installs without the license page. The release workflow
# (.github/workflows/release.yml) runs this same script and CI's checks: one MSI definition.
#   MSI_VERSION=0.0.1 MSI_PACKAGE_ONLY=1 bash wix/build-msi.sh
# packs the programs already in dist/msi-stage as another version (wix/wine-install.sh uses
# this for its upgrade check).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(mingw-w64)
command -v wixl >/dev/null || need+=(wixl)
command -v msiinfo >/dev/null || need+=(msitools)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
rustup target list --installed | grep -qx x86_64-pc-windows-gnu || rustup target add x86_64-pc-windows-gnu

meta=$(cargo metadata --no-deps --format-version 1)
version=${MSI_VERSION:-$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["packages"][0]["version"])' "$meta")}
target_dir=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["target_directory"])' "$meta")

stage=dist/msi-stage
if [ "${MSI_PACKAGE_ONLY:-0}" != 1 ]; then
  export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
  cargo build --release --locked --target x86_64-pc-windows-gnu --bins
  rm -rf "$stage" && mkdir -p "$stage"
  cp "$target_dir/x86_64-pc-windows-gnu/release/scanmail.exe" "$target_dir/x86_64-pc-windows-gnu/release/scanmail-cli.exe" "$stage/"
fi
msi="dist/ScanMail-$version-x86_64.msi"
# wixl wants paths relative to where it runs.
wixl -a x64 -D Version="$version" -D UI=no -D BinDir="$stage" \
  -D IconFile=resources/icons/scanmail.ico -D LicenseFile=wix/License.rtf \
  -o "$msi" wix/main.wxs 2> >(grep -v -e "GLib-GObject-WARNING" -e "^$" >&2)
# wixl ignores Secure="yes": list ORGPRESET among the properties the elevated install may read.
msibuild "$msi" -q "UPDATE Property SET Value='WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;ORGPRESET;RELAY' WHERE Property='SecureCustomProperties'"
# The "Relay service" feature (level 1000, off) is turned on by RELAY=1: a Condition row, which
# wixl cannot write from <Condition> inside <Feature>.
msibuild "$msi" -q "CREATE TABLE \`Condition\` (\`Feature_\` CHAR(38) NOT NULL, \`Level\` SHORT NOT NULL, \`Condition\` CHAR(255) PRIMARY KEY \`Feature_\`, \`Level\`)"
msibuild "$msi" -q "INSERT INTO \`Condition\` (\`Feature_\`, \`Level\`, \`Condition\`) VALUES ('Relay', 1, 'RELAY=1')"
# The preset's folder: owned by Administrators, full control for Administrators and SYSTEM,
# read and run for Users, nothing inherited (the same SDDL as src/trust.rs FOLDER_SDDL).
sddl=$(grep -oP 'FOLDER_SDDL: &str = "\K[^"]+' src/trust.rs)
msibuild "$msi" -q "CREATE TABLE \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\` CHAR(72) NOT NULL, \`LockObject\` CHAR(72) NOT NULL, \`Table\` CHAR(32) NOT NULL, \`SDDLText\` LONGCHAR NOT NULL, \`Condition\` CHAR(255) PRIMARY KEY \`MsiLockPermissionsEx\`)"
msibuild "$msi" -q "INSERT INTO \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\`, \`LockObject\`, \`Table\`, \`SDDLText\`) VALUES ('OrgFolderLock', 'ORGDIR', 'CreateFolder', '$sddl')"
echo "built $msi ($(du -h "$msi" | cut -f1))"
