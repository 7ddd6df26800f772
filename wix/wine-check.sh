#!/usr/bin/env bash
# Runs the Windows programs under Wine as a Windows-compatible check: both print their version,
# the console one answers a lookup and checks a preset, and the windowed one keeps a redirected
# output. Also checks the exe's subsystem and its version resource.
# Debian 12's Wine 8 has no bcryptprimitives.dll (Rust's std needs its ProcessPrng), so the check
# builds a ten-line stand-in DLL with mingw next to the programs. Nothing here is shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v x86_64-w64-mingw32-gcc >/dev/null || { echo "wine-check: mingw-w64 missing (run wix/build-msi.sh first)" >&2; exit 1; }
if [ ! -x /usr/lib/wine/wine64 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64 >/dev/null
fi
stage=dist/msi-stage
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$stage"/scanmail.exe "$stage"/scanmail-cli.exe "$work/"
cat > "$work/prng.c" <<'C'
#include <windows.h>
#include <ntsecapi.h>
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return RtlGenRandom(data, (ULONG)len); }
C
printf 'LIBRARY bcryptprimitives\nEXPORTS\nProcessPrng\n' > "$work/prng.def"
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bcryptprimitives.dll" "$work/prng.c" "$work/prng.def" -ladvapi32
cp resources/presets/microsoft-365.toml "$work/org.toml"

export WINEPREFIX="$work/prefix" WINEDEBUG=-all
wine=/usr/lib/wine/wine64
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
fails=0
check() { # what, expected text, command...
  local what=$1 want=$2; shift 2
  local got
  got=$(cd "$work" && timeout 120 "$wine" "$@" 2>/dev/null | tr -d '\r') || true
  if grep -qF -- "$want" <<<"$got"; then echo "  ok   $what"; else echo "  FAIL $what: wanted \"$want\", got \"${got:0:200}\""; fails=$((fails + 1)); fi
}
echo "running the Windows programs under Wine"
check "scanmail-cli.exe --version" "scanmail $version" ./scanmail-cli.exe --version
check "scanmail.exe --version (windowed, output redirected)" "scanmail $version" ./scanmail.exe --version
check "scanmail-cli.exe lookup" '"id": "konica-minolta"' ./scanmail-cli.exe lookup --manufacturer KM --model "bizhub C300i" --json
check "scanmail-cli.exe org check" "valid ScanMail preset for Microsoft 365" ./scanmail-cli.exe org check org.toml
objdump=x86_64-w64-mingw32-objdump
if $objdump -p "$work/scanmail.exe" | grep "^Subsystem" | grep -qF "(Windows GUI)"; then echo "  ok   scanmail.exe is a windowed program"; else echo "  FAIL scanmail.exe subsystem"; fails=$((fails + 1)); fi
if $objdump -p "$work/scanmail-cli.exe" | grep "^Subsystem" | grep -qF "(Windows CUI)"; then echo "  ok   scanmail-cli.exe is a console program"; else echo "  FAIL scanmail-cli.exe subsystem"; fails=$((fails + 1)); fi
if python3 -c "import sys; d=open(sys.argv[1],'rb').read(); sys.exit(0 if 'VS_VERSION_INFO'.encode('utf-16-le') in d and sys.argv[2].encode('utf-16-le') in d else 1)" "$work/scanmail.exe" "$version"; then
  echo "  ok   version resource $version"
else
  echo "  FAIL version resource"; fails=$((fails + 1))
fi
if [ "$fails" -gt 0 ]; then echo "$fails Wine check(s) failed"; exit 1; fi
echo "all Wine checks passed"
