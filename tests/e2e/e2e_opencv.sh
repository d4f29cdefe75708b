#!/bin/sh
# e2e_opencv.sh - golden test against OpenCV's Darknet importer: loads a cfg
# and fer-written random weights with cv2.dnn.readNetFromDarknet and checks
# that `fer classifier predict -json` gives the same probabilities (max abs
# diff <= 1e-4) on real FER-2013 faces (../shared/data/fer2013-sample, turned
# into PGM so fer reads them without stb; synthetic PGMs when absent).
# Cfgs: tests/cfg/shallow_nobn_dense.cfg (cfg/shallow.cfg without batch norm
# in [connected], which OpenCV reads wrongly) and tests/cfg/residual_route.cfg
# ([shortcut], [route] and the rest OpenCV supports). Also re-measures and
# prints OpenCV's quirks (batch-norm eps 1e-6, [connected]+BN -> NaN).
# See tests/ref/golden_opencv.py. Exits 77 (SKIP) without "$PY" or cv2.
. tests/e2e/lib.sh
SAMPLES=${FER_SAMPLES:-../shared/data/fer2013-sample/train}
if [ ! -x "$PY" ]; then
    echo "SKIP: $PY not found (OpenCV golden test needs Debian's python3-opencv)"
    exit 77
fi
if ! "$PY" -c 'import cv2, numpy' 2>/dev/null; then
    echo "SKIP: $PY has no cv2/numpy module (apt-get install python3-opencv)"
    exit 77
fi
if [ ! -x "$FER" ]; then
    echo "$FER not built (make)"
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fer-golden-opencv.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
status=0
"$PY" tests/ref/golden_opencv.py quirks "$work" || status=1
for cfg in tests/cfg/shallow_nobn_dense.cfg tests/cfg/residual_route.cfg; do
    echo "== $cfg"
    "$PY" tests/ref/golden_opencv.py "$FER" "$cfg" "$work" "$SAMPLES" || status=1
done
if [ $status -eq 0 ]; then
    echo "golden opencv: fer matches OpenCV's Darknet importer on shallow_nobn_dense and residual_route"
else
    echo "golden opencv: FAILED"
fi
exit $status
