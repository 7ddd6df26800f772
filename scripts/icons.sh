#!/usr/bin/env bash
# Makes every icon from the one source, resources/icon.svg: PNGs (16-1024), the Windows .ico,
# the macOS .icns, and the raw 64x64 RGBA the window uses. Tools: rsvg-convert (librsvg2-bin),
# ImageMagick (convert), png2icns (icnsutils); installed with apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v rsvg-convert >/dev/null || need+=(librsvg2-bin)
command -v convert >/dev/null || need+=(imagemagick)
command -v png2icns >/dev/null || need+=(icnsutils)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
out=resources/icons
mkdir -p "$out"
for s in 16 24 32 48 64 128 256 512 1024; do
  rsvg-convert -w "$s" -h "$s" resources/icon.svg -o "$out/scanmail-$s.png"
done
convert "$out"/scanmail-{16,24,32,48,64,128,256}.png "$out/scanmail.ico"
png2icns "$out/scanmail.icns" "$out"/scanmail-{16,32,48,128,256,512,1024}.png >/dev/null
convert "$out/scanmail-64.png" -depth 8 rgba:"$out/scanmail-64.rgba"
ls -la "$out"
