#!/usr/bin/env bash
# Checks a built MSI with msiinfo: product name and version (from Cargo.toml), the fixed
# UpgradeCode and major upgrades, both programs, the Start menu shortcut, the icon in
# Add/Remove Programs, and the ORGPRESET custom action. Exits non-zero on the first mismatch.
set -euo pipefail
msi=$(realpath "${1:?usage: wix/check-msi.sh FILE.msi}")
cd "$(dirname "$0")/.."
# msiinfo writes binary streams (the Icon table) into the current folder: work in a temp one.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
version=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["packages"][0]["version"])' < <(cargo metadata --no-deps --format-version 1))
fails=0
expect() { # table, pattern, what
  if (cd "$scratch" && msiinfo export "$msi" "$1") | tr -d '\r' | grep -qP "$2"; then echo "  ok   $3"; else echo "  FAIL $3 ($1 has no /$2/)"; fails=$((fails + 1)); fi
}
echo "checking $msi"
expect Property '^ProductName\tScanMail$' "product name ScanMail"
expect Property "^ProductVersion\t${version//./\\.}$" "version $version from Cargo.toml"
expect Property '^UpgradeCode\t\{A8F1A19D-A348-4371-8C5D-832E64C472F6\}$' "fixed UpgradeCode"
expect Property '^ALLUSERS\t1$' "per-machine install"
expect Property '^ARPPRODUCTICON\tScanMailIcon$' "icon in Add/Remove Programs"
expect Property '^SecureCustomProperties\t.*ORGPRESET' "ORGPRESET reaches the elevated install"
expect Upgrade 'WIX_UPGRADE_DETECTED' "a newer MSI replaces an older one"
expect Upgrade 'WIX_DOWNGRADE_DETECTED' "an older MSI does not replace a newer one"
expect File '^ScanMailExe\t.*scanmail\.exe' "scanmail.exe"
expect File '^ScanMailCliExe\t.*scanmail-cli\.exe' "scanmail-cli.exe"
expect Directory '^INSTALLDIR\tProgramFiles64Folder\tScanMail$' "installs under Program Files"
expect Shortcut '^ScanMailShortcut\tProgramMenuFolder\tScanMail\t.*\[INSTALLDIR\]scanmail\.exe' "Start menu shortcut"
expect Icon '^ScanMailIcon' "icon stream"
expect CustomAction '^InstallOrgPreset\t3090\tScanMailExe\torg install "\[ORGPRESET\]"' "ORGPRESET custom action (deferred, elevated)"
expect InstallExecuteSequence '^InstallOrgPreset\tORGPRESET AND NOT REMOVE AND \(NOT Installed OR AdminUser\)\t' "runs on a first install with ORGPRESET, and on a repair only by an administrator"
expect Directory '^ORGDIR\tCommonAppDataFolder\tScanMail$' "makes ProgramData\\ScanMail"
expect CreateFolder '^ORGDIR\tOrgFolder$' "creates the preset's folder"
sddl=$(grep -oP 'FOLDER_SDDL: &str = "\K[^"]+' src/trust.rs)
expect MsiLockPermissionsEx "^OrgFolderLock\tORGDIR\tCreateFolder\t\Q$sddl\E\t?$" "the folder is owned by Administrators, users read-only ($sddl)"
expect Property '^SecureCustomProperties\t.*RELAY' "RELAY reaches the elevated install"
expect Feature '^Relay\t\tRelay service\t[^\t]*\t\d+\t1000\t' "an optional \"Relay service\" feature, off by default (level 1000)"
expect Upgrade '\t1\t\tWIX_UPGRADE_DETECTED$' "an upgrade keeps the features installed before (MigrateFeatures), so the relay service stays"
expect Condition '^Relay\t1\tRELAY=1$' "RELAY=1 turns it on"
expect CustomAction '^InstallRelayService\t3090\tScanMailCliExe\trelay install-service\t?$' "the service is installed by relay install-service (deferred, elevated)"
expect CustomAction '^UninstallRelayService\t\d+\tScanMailCliExe\trelay uninstall-service\t?$' "and removed by relay uninstall-service"
seq_of() { (cd "$scratch" && msiinfo export "$msi" InstallExecuteSequence) | tr -d '\r' | awk -F'\t' -v a="$1" '$1 == a { print $3 }'; }
in_order() { # actions...: each runs after the one before (deferred actions must come before InstallFinalize)
  local prev=0 a n
  for a in "$@"; do n=$(seq_of "$a"); [ -n "$n" ] && [ "$n" -gt "$prev" ] || return 1; prev=$n; done
}
if in_order InstallFiles InstallOrgPreset InstallRelayService InstallFinalize; then
  echo "  ok   the preset, then the relay service, run after the files and before InstallFinalize"
else
  echo "  FAIL the custom actions are out of order: $(for a in InstallFiles InstallOrgPreset InstallRelayService InstallFinalize; do printf '%s=%s ' "$a" "$(seq_of "$a")"; done)"; fails=$((fails + 1))
fi
expect InstallExecuteSequence '^InstallRelayService\t\(&Relay=3\) AND NOT \(!Relay=3\)\t' "installed only when the feature is being added"
expect InstallExecuteSequence '^UninstallRelayService\t\(REMOVE="ALL"\) OR \(\(&Relay=2\) AND \(!Relay=3\)\)\t' "removed when the feature or ScanMail goes"
if [ "$fails" -gt 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all MSI checks passed"
