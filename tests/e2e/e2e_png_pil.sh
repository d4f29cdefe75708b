#!/bin/sh
# e2e_png_pil.sh - fer's PNG encoder against an independent decoder, Python's
# PIL (Debian python3-pil, which decodes with zlib and libpng's rules):
# tests/tool_png writes gradients, noise, constant and mixed images (1x1 to
# 640x480, odd widths, gray, gray+alpha, RGB, RGBA) and a rendered canvas
# beside their raw pixels; every file must open in PIL (which checks the
# CRCs and the zlib stream) with the right mode and size and exactly the
# same pixels. Also prints the compression of the smooth and the rendered
# images. Exits 77 (SKIP) without "$PY" and PIL.
. tests/e2e/lib.sh
BUILD=${BUILD:-build}
if [ ! -x $PY ] || ! $PY -c 'import PIL.Image' 2>/dev/null; then
    echo "SKIP: $PY with PIL not found (apt-get install python3-pil)"
    exit 77
fi
[ -x $BUILD/tests/tool_png ] || { echo "$BUILD/tests/tool_png not built"; exit 1; }
out=tests/out/e2e_png_pil
rm -rf $out && mkdir -p $out
$BUILD/tests/tool_png $out > $out/sizes.txt || { echo "FAIL: tool_png"; exit 1; }
$PY - $out <<'PYEOF' || exit 1
import os, sys
from PIL import Image, ImageFile
ImageFile.LOAD_TRUNCATED_IMAGES = False
out = sys.argv[1]
modes = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
bad = n = 0
for line in open(os.path.join(out, "sizes.txt")):
    name, png_bytes, raw_bytes = line.split()
    w, h = map(int, name.split("_")[1].split("x"))
    ch = int(name.split("_")[2])
    raw = open(os.path.join(out, name + ".raw"), "rb").read()
    try:
        im = Image.open(os.path.join(out, name + ".png"))
        im.load()
        ok = im.mode == modes[ch] and im.size == (w, h) and im.tobytes() == raw
        why = "" if ok else "mode %s size %s, pixels %s" % (im.mode, im.size, "same" if im.tobytes() == raw else "differ")
    except Exception as ex:
        ok, why = False, "PIL cannot decode: %s" % ex
    n += 1
    if not ok:
        bad += 1
        print("FAIL %s: %s" % (name, why))
    if name.startswith(("gradient_640x480_3", "canvas", "noise_640x480_3")):
        print("%s: %s bytes PNG for %s raw (%.2f%%)" % (name, png_bytes, raw_bytes, 100.0 * int(png_bytes) / int(raw_bytes)))
print("PIL decoded %d of %d PNGs to exactly the encoded pixels" % (n - bad, n))
sys.exit(1 if bad or n < 100 else 0)
PYEOF
