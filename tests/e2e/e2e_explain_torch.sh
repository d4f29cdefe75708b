#!/bin/sh
# e2e_explain_torch.sh - saliency and Grad-CAM against PyTorch autograd:
# tests/tool_explain dumps fer's d score_K / d input, saliency, Grad-CAM
# weights, map and resized map for one input; tests/ref/explain_torch.py
# recomputes them with tests/ref/fer_torch.py (float64) and fails when any
# differs by more than 1e-4 * max|ref|. Networks: tests/cfg/tiny.cfg and
# cfg/shallow.cfg on a real face (../shared/data/faces/obama.pgm, resized),
# tests/cfg/every_layer.cfg (every layer type, 3 channels) on a random input;
# random weights with realistic batch-norm state; default and chosen classes
# and layers; one run on 2 threads.
# Exits 77 (SKIP) without /usr/bin/python3, torch or numpy.
. tests/e2e/lib.sh
BUILD=${BUILD:-build}
tool="$BUILD/tests/tool_explain"
if [ ! -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "SKIP: $PY with torch and numpy not found (apt-get install python3-torch)"
    exit 77
fi
[ -x "$tool" ] || { echo "$tool not built (make $tool)"; exit 1; }
face=../shared/data/faces/obama.pgm
[ -s "$face" ] || { echo "SKIP: $face is absent"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/fer-explain-torch.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
status=0
for cfg in tests/cfg/tiny.cfg cfg/shallow.cfg tests/cfg/every_layer.cfg; do
    "$PY" tests/ref/fer_torch.py randweights $cfg "$work/$(basename $cfg .cfg).weights" 7 || exit 1
done
"$PY" -c "import numpy as np; np.random.default_rng(3).uniform(0, 1, 3 * 13 * 15).astype('<f4').tofile('$work/every.in.bin')"
# explain_torch.py's arguments: CFG WEIGHTS INPUT [--class K] [--layer L] (WORKDIR last, added by run)
explain() { cfg=$1; input=$2; shift 2; echo "== $cfg $input $*"; "$PY" tests/ref/explain_torch.py "$tool" $cfg "$work/$(basename $cfg .cfg).weights" "$input" "$work" "$@" || status=1; }
explain tests/cfg/tiny.cfg $face
explain tests/cfg/tiny.cfg $face --class 6 --layer 0
explain cfg/shallow.cfg $face
explain tests/cfg/every_layer.cfg "$work/every.in.bin"
explain tests/cfg/every_layer.cfg "$work/every.in.bin" --class 3 --layer 3
echo "== 2 threads"
FER_THREADS=2 explain cfg/shallow.cfg $face --class 2 --layer 4
if [ $status -eq 0 ]; then
    echo "explain torch: saliency and Grad-CAM match PyTorch on tiny, shallow and every_layer"
else
    echo "explain torch: FAILED"
fi
exit $status
