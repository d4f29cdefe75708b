#!/bin/sh
# e2e_valgrind.sh - the real CLI under valgrind's memcheck: classify an image
# with random weights for a small cfg (-json output must parse), and reject a
# malformed cfg (exit 1); both without memory errors or leaks. Runs from the
# repository root (data/fer2013.data gives the 7 label names). Exits 77 with
# a SKIP line when valgrind is not installed.
. tests/e2e/lib.sh
BUILD=${BUILD:-build}
TOOL="$BUILD/tests/tool_randweights"
OUT=tests/out/valgrind
if ! command -v valgrind > /dev/null 2>&1; then
    echo "SKIP: valgrind is not installed"
    exit 77
fi
if [ ! -f data/fer2013.data ]; then
    echo "SKIP: data/fer2013.data not found; run from the repository root"
    exit 77
fi
for f in "$FER" "$TOOL"; do
    if [ ! -x "$f" ]; then
        echo "e2e_valgrind: $f is missing (make test builds it)"
        exit 1
    fi
done
mkdir -p "$OUT"
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"

# a small network for 16x16 grayscale faces and the 7 FER-2013 classes,
# with every layer type the zoo uses
cat > "$OUT/small.cfg" << 'EOF'
[net]
width=16
height=16
channels=1
[convolutional]
filters=4
size=3
pad=1
batch_normalize=1
activation=relu
[maxpool]
size=2
stride=2
[dropout]
probability=0.25
[convolutional]
filters=4
size=3
pad=1
activation=leaky
[shortcut]
from=-3
activation=linear
[route]
layers=-1,-4
[avgpool]
[connected]
output=7
activation=linear
[softmax]
EOF

# a 20x24 gray image (P5), not the network's size: predict resizes it
{
    printf 'P5\n20 24\n255\n'
    i=0
    while [ $i -lt 480 ]; do
        printf "\\$(printf '%03o' $(( (i * 37 + i / 20 * 11) % 256 )))"
        i=$((i + 1))
    done
} > "$OUT/face.pgm"

if "$TOOL" "$OUT/small.cfg" "$OUT/small.weights" 7 > "$OUT/tool.log" 2>&1; then
    ok "random weights: $(cat "$OUT/tool.log")"
else
    bad "tool_randweights: $(cat "$OUT/tool.log")"
fi

# 1. predict under valgrind: exit 0, no errors, one JSON line that parses
$VG "$FER" classifier predict "$OUT/small.cfg" "$OUT/small.weights" "$OUT/face.pgm" -json \
    > "$OUT/predict.json" 2> "$OUT/predict.err"
rc=$?
if [ $rc -eq 0 ]; then
    ok "predict under valgrind: exit 0"
else
    bad "predict under valgrind: exit $rc (99 = valgrind errors); $OUT/predict.err:"
    tail -n 20 "$OUT/predict.err" | sed 's/^/    /'
fi
lines=$(grep -c . "$OUT/predict.json")
if [ "$lines" -ne 1 ]; then
    bad "predict printed $lines lines, expected one JSON line"
elif command -v python3 > /dev/null 2>&1; then
    if python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
f = r["faces"][0]
p = f["probs"]
assert len(p) == 7, "7 probabilities"
assert abs(sum(p.values()) - 1) < 1e-4, "probabilities sum to 1"
assert f["label"] in [l.strip() for l in open("data/fer2013.labels") if l.strip()], "a known label"
assert r["image"].endswith("face.pgm")
' "$OUT/predict.json" 2> "$OUT/json.err"; then
        ok "the JSON line parses: $(cat "$OUT/predict.json")"
    else
        bad "the JSON line does not parse or is wrong: $(cat "$OUT/predict.json") ($(tail -n 1 "$OUT/json.err"))"
    fi
elif grep -Eq '^\{"image": ".*face\.pgm", "faces": \[\{"box": \[[0-9, ]+\], "label": "[^"]+", "probs": \{[^}]+\}\}\]\}$' "$OUT/predict.json"; then
    ok "the JSON line has the expected shape (no python3 to parse it)"
else
    bad "the JSON line has an unexpected shape: $(cat "$OUT/predict.json")"
fi

# 2. a malformed cfg: exit 1 with a message, no valgrind errors
printf '[net]\nwidth=16\nheight=16\nchannels=1\n[convolutional]\nfilters=4\nsize=3\n[route]\nlayers=5\n' \
    > "$OUT/malformed.cfg"
$VG "$FER" net "$OUT/malformed.cfg" > "$OUT/malformed.out" 2> "$OUT/malformed.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "malformed.cfg:9:" "$OUT/malformed.err"; then
    ok "fer net on a malformed cfg under valgrind: exit 1, $(grep -m1 'fer:' "$OUT/malformed.err")"
else
    bad "fer net on a malformed cfg under valgrind: exit $rc (expected 1; 99 = valgrind errors); $OUT/malformed.err:"
    tail -n 20 "$OUT/malformed.err" | sed 's/^/    /'
fi

# 3. weights for another cfg: exit 1, no valgrind errors
$VG "$FER" net tests/corpus/ok_minimal.cfg "$OUT/small.weights" > "$OUT/wrong.out" 2> "$OUT/wrong.err"
rc=$?
if [ $rc -eq 1 ]; then
    ok "fer net with weights for another cfg under valgrind: exit 1"
else
    bad "fer net with weights for another cfg under valgrind: exit $rc; $OUT/wrong.err:"
    tail -n 20 "$OUT/wrong.err" | sed 's/^/    /'
fi

echo "e2e_valgrind: $pass passed, $fail failed"
[ $fail -eq 0 ]
