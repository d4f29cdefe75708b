#!/bin/sh
# e2e_jpeg_pil.sh - fer's JPEG encoder against an independent decoder
# (Python's PIL, i.e. libjpeg): the shared photo (and a gray one) encoded at
# quality 90 (4:2:0, 4:4:4, gray) and 50 decode to the original within JPEG
# tolerance: PSNR > 35 dB at quality 90, > 30 dB at 50, sizes as encoded.
. tests/e2e/lib.sh
BUILD=${BUILD:-build}
FACES=../shared/data/faces
[ -x $PY ] && $PY -c "import PIL, numpy" 2> /dev/null || { echo "SKIP: Python PIL/numpy are absent (apt-get install python3-pil python3-numpy)"; exit 77; }
[ -f $FACES/obama.pgm ] || { echo "SKIP: $FACES is absent"; exit 77; }
out=tests/out/e2e_jpeg_pil
rm -rf $out && mkdir -p $out
src=$FACES/obama.pgm
[ -f $FACES/obama.jpg ] && $BUILD/tests/tool_jpeg $FACES/obama.jpg $out/probe.jpg 90 444 2> /dev/null && src=$FACES/obama.jpg
for v in "90 420" "90 444" "90 gray" "50 420"; do
    set -- $v
    $BUILD/tests/tool_jpeg $src $out/q$1_$2.jpg $1 $2 || { echo "FAIL: tool_jpeg $v"; exit 1; }
done
$BUILD/tests/tool_jpeg $FACES/two_people.pgm $out/gray_two.jpg 90 gray || { echo "FAIL: tool_jpeg gray"; exit 1; }
$PY - $src $FACES/two_people.pgm $out <<'EOF2'
import sys
import numpy as np
from PIL import Image
src, gray_src, out = sys.argv[1:4]
ref = np.asarray(Image.open(src).convert("RGB")).astype(float)
def psnr(a, b):
    mse = ((a - b) ** 2).mean()
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
bad = 0
def check(name, image, reference, floor):
    global bad
    im = Image.open(image)
    im.load()
    a = np.asarray(im.convert("RGB" if reference.ndim == 3 else "L")).astype(float)
    p = psnr(a, reference) if a.shape == reference.shape else -1
    ok = im.format == "JPEG" and p > floor
    print("%s %s: %s %s, PSNR %.2f dB (floor %d)" % ("ok" if ok else "FAIL", name, im.mode, im.size, p, floor))
    bad += not ok
check("q90 4:2:0", out + "/q90_420.jpg", ref, 35)
check("q90 4:4:4", out + "/q90_444.jpg", ref, 35)
check("q50 4:2:0", out + "/q50_420.jpg", ref, 30)
luma = np.asarray(Image.open(src).convert("RGB")).astype(float) @ np.array([0.299, 0.587, 0.114])
check("q90 gray", out + "/q90_gray.jpg", np.floor(luma + 0.5), 35)
check("q90 gray pgm", out + "/gray_two.jpg", np.asarray(Image.open(gray_src)).astype(float), 35)
sys.exit(1 if bad else 0)
EOF2
