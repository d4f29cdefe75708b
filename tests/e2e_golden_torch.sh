#!/bin/sh
# e2e_golden_torch.sh - golden test against PyTorch autograd: one forward and
# backward pass of fer (tests/tool_golden) on cfg/shallow.cfg and
# tests/cfg/every_layer.cfg (every layer type and activation), with random
# weights (realistic batch-norm statistics), a random batch of 4 and random
# labels, in training mode (batch statistics, fer's dropout masks re-applied
# on the PyTorch side) and in inference mode. Compares the loss, the output,
# the input gradient, every parameter gradient and the rolling statistics
# with tools/fer_torch.py (float64); fails when a tensor's max abs error
# exceeds 1e-4 * max(1, max|ref|). See tests/golden_torch.py.
# Exits 77 (SKIP) without /usr/bin/python3, torch or numpy.
BUILD=${BUILD:-build}
PY=/usr/bin/python3
tool="$BUILD/tests/tool_golden"
if [ ! -x "$PY" ]; then
    echo "SKIP: $PY not found (PyTorch golden test needs Debian's python3-torch)"
    exit 77
fi
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "SKIP: $PY has no torch/numpy module (apt-get install python3-torch)"
    exit 77
fi
if [ ! -x "$tool" ]; then
    echo "$tool not built (make $tool)"
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fer-golden-torch.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
status=0
for cfg in cfg/shallow.cfg tests/cfg/every_layer.cfg; do
    echo "== $cfg"
    "$PY" tests/golden_torch.py "$tool" "$cfg" "$work" || status=1
done
# the batch split across threads (per-thread weight gradients summed)
echo "== tests/cfg/every_layer.cfg, FER_THREADS=2"
FER_THREADS=2 "$PY" tests/golden_torch.py "$tool" tests/cfg/every_layer.cfg "$work" || status=1
if [ $status -eq 0 ]; then
    echo "golden torch: shallow and every_layer match PyTorch in train and inference mode"
else
    echo "golden torch: FAILED"
fi
exit $status
