#!/bin/sh
# e2e_report.sh - `fer report` on the real CLI (two random-weight models over
# ../shared/data/fer2013-sample, a training log beside the weights):
#   - one self-contained HTML file: PNGs as data URIs (confusion matrix,
#     Grad-CAM grid), inline SVG (history, class distribution), no scripts
#     and no external src/href; its accuracy is the ensemble's;
#   - every embedded PNG decodes with Python's PIL (when present);
#   - headless Chromium renders it to a screenshot that is not blank: it has
#     the SVG charts' colors, and the grid's red frames and the confusion
#     matrix's cell borders (pixels of both embedded PNGs); skipped (77)
#     with a reason when chromium is absent;
#   - bad arguments fail with a message.
. tests/e2e/lib.sh
need_sample
out=tests/out/e2e_report
rm -rf $out && mkdir -p $out
ok() { echo "ok: $*"; }

cat > $out/sample.data <<EOF
classes = 7
labels = data/fer2013.labels
train = $sample
valid = $sample
test = $sample
EOF
D=$out/sample.data
# the sample faces are JPEG files: fer reads them only when built with stb
$FER data stats $D > $out/stb.txt 2>&1
if grep -q "built without stb" $out/stb.txt; then
    echo "SKIP: fer was built without stb (apt-get install libstb-dev, then make clean && make): $(sed -n 2p $out/stb.txt)"
    exit 77
fi
$BUILD/tests/tool_randweights tests/cfg/tiny.cfg $out/a.weights 1 || fail "randweights"
mkdir -p $out/b
$BUILD/tests/tool_randweights tests/cfg/tiny.cfg $out/b/b.weights 2 || fail "randweights"
cat > $out/tiny.log.csv <<EOF
epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds
1,1.80000,0.25000,1.70000,0.30000,0.01,10.0
2,1.60000,0.35000,1.55000,0.38000,0.009,20.0
3,1.45000,0.44000,1.48000,0.42000,0.007,30.0
EOF
html=$out/report.html
$FER report $D tests/cfg/tiny.cfg $out/a.weights tests/cfg/tiny.cfg $out/b/b.weights -n 2 -o $html -threads 1 > $out/report.txt \
    || fail "report"
$FER ensemble $D tests/cfg/tiny.cfg $out/a.weights tests/cfg/tiny.cfg $out/b/b.weights -threads 1 > $out/ensemble.txt || fail "ensemble"
[ "$(tail -n 1 $out/report.txt)" = "$(tail -n 1 $out/ensemble.txt)" ] || fail "report and ensemble disagree on the accuracy"
grep -q "wrote $html" $out/report.txt || fail "report does not print the path"
head -c 15 $html | grep -q '<!DOCTYPE html>' && tail -c 20 $html | grep -q '</html>' || fail "not a complete HTML document"
[ "$(grep -o 'data:image/png;base64,' $html | wc -l)" -eq 2 ] || fail "expected 2 embedded PNGs (confusion, Grad-CAM grid)"
[ "$(grep -o '<svg ' $html | wc -l)" -ge 4 ] || fail "expected inline SVG (history: 3 elements, distribution: 1)"
grep -q 'model 1: tiny, 3 epochs' $html || fail "the training log beside the weights was not used"
grep -q 'model 2 (tiny): no training log' $html || fail "model 2 has no log and should say so"
if grep -q -i -E '<script|(src|href)="(https?:|//|file:)' $html; then fail "the report refers to something outside itself"; fi
ok "self-contained HTML: 2 PNG data URIs, inline SVG, no scripts or external references"

if [ -x $PY ] && $PY -c 'import PIL.Image' 2>/dev/null; then
    $PY - $html <<'PYEOF' || fail "an embedded PNG does not decode"
import base64, io, re, sys
from PIL import Image
text = open(sys.argv[1]).read()
for i, b64 in enumerate(re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', text)):
    im = Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))
    im.load()
    print("embedded PNG %d: %dx%d %s" % (i + 1, im.size[0], im.size[1], im.mode))
PYEOF
    ok "the embedded PNGs decode with PIL"
fi

# bad input
bad() {   # bad "expected message" args...
    want=$1; shift
    if $FER report "$@" > $out/bad.out 2> $out/bad.err; then fail "report $* should fail"; fi
    grep -q -- "$want" $out/bad.err || { cat $out/bad.err; fail "report $*: message lacks '$want'"; }
}
M="tests/cfg/tiny.cfg $out/a.weights"
bad "expected an .html file name" $D $M -o $out/r.txt
bad "cannot read it" $D $M -log $out/missing.csv -o $out/r.html
bad "expected 0..16" $D $M -n 99 -o $out/r.html
bad "expected CFG WEIGHTS pairs" $D $M tests/cfg/tiny.cfg -o $out/r.html
bad "cannot write" $D $M -n 0 -o /nonexistent-dir/r.html
[ ! -e $out/r.html ] || fail "a failed report left a file behind"
ok "bad arguments fail with a message"

# a real browser
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "SKIP: chromium is not installed (apt-get install chromium); the HTML checks above passed"
    exit 77
fi
profile=$(mktemp -d "${TMPDIR:-/tmp}/fer-chromium.XXXXXX") || exit 1
trap 'rm -rf "$profile"' EXIT INT TERM
shot=$out/report_screenshot.png
timeout 90 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
    --screenshot="$shot" --window-size=1280,5200 "file://$(pwd)/$html" > $out/chromium.log 2>&1
[ -s $shot ] || { tail -n 5 $out/chromium.log; fail "chromium wrote no screenshot"; }
if [ -x $PY ] && $PY -c 'import PIL.Image' 2>/dev/null; then
    $PY - $shot <<'PYEOF' || fail "the screenshot does not show the report"
import sys
from PIL import Image, ImageStat
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
stat = ImageStat.Stat(im.convert("L"))
colors = im.getcolors(1 << 24)
count = {c: n for n, c in colors}
def near(rgb, tol=6):
    return sum(n for c, n in count.items() if all(abs(c[k] - rgb[k]) <= tol for k in range(3)))
checks = {
    "variance of the gray levels": (stat.var[0], 500),
    "distinct colors": (len(colors), 200),
    "SVG blue (train bars, history)": (near((31, 119, 180)), 2000),
    "SVG orange (valid bars, history)": (near((255, 127, 14)), 2000),
    "Grad-CAM grid: red frames": (count.get((214, 39, 40), 0), 300),
    "confusion matrix: its cell borders": (count.get((200, 200, 200), 0), 3000),
}
print("screenshot %dx%d" % (w, h))
bad = 0
for name, (value, least) in checks.items():
    ok = value >= least
    bad += not ok
    print("%-36s %10.1f (at least %d) %s" % (name, value, least, "ok" if ok else "FAIL"))
sys.exit(1 if bad else 0)
PYEOF
else
    [ "$(wc -c < $shot)" -gt 50000 ] || fail "the screenshot is suspiciously small (blank?)"
fi
ok "headless Chromium renders the report ($shot)"
echo "report: self-contained, decodes, renders in Chromium"
