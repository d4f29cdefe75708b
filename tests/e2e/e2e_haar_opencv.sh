#!/bin/sh
# e2e_haar_opencv.sh - fer's Haar detector against OpenCV's CascadeClassifier
# (Python cv2, an independent implementation) on the shared photos, with the
# same cascade, scale factor 1.1 and minimum size 30, in fer's exact
# (OpenCV-style) scan:
#   - raw windows (min neighbours 0): every window OpenCV accepts, fer
#     accepts at exactly the same place and size; fer's extra windows (OpenCV
#     4's pyramid is resized with INTER_LINEAR_EXACT, fer's with 8-bit
#     bilinear weights, which lets a few more small-scale windows through)
#     stay under 40% of the total;
#   - grouped faces (min neighbours 3): every OpenCV face has a fer face with
#     IoU >= 0.9 and a neighbour count within 25%, and every fer face backed
#     by 10 or more windows is one of OpenCV's.
. tests/e2e/lib.sh
BUILD=${BUILD:-build}
FACES=../shared/data/faces
[ -x $PY ] && $PY -c "import cv2" 2>/dev/null || { echo "SKIP: Python cv2 is absent (apt-get install python3-opencv)"; exit 77; }
[ -f $CASCADE ] || { echo "SKIP: $CASCADE is absent (apt-get install opencv-data)"; exit 77; }
[ -f $FACES/two_people.pgm ] || { echo "SKIP: $FACES is absent"; exit 77; }
out=tests/out/e2e_haar_opencv
rm -rf $out && mkdir -p $out
for n in two_people obama; do
    $BUILD/tests/tool_haar $CASCADE $FACES/$n.pgm 1.1 0 30 > $out/${n}_raw.txt 2>/dev/null || { echo "FAIL: tool_haar $n"; exit 1; }
    $BUILD/tests/tool_haar $CASCADE $FACES/$n.pgm 1.1 3 30 > $out/${n}_grouped.txt 2>/dev/null || { echo "FAIL: tool_haar $n"; exit 1; }
done
$PY - "$CASCADE" "$FACES" "$out" <<'EOF'
import sys, cv2
cascade, faces, out = sys.argv[1:4]
c = cv2.CascadeClassifier(cascade)
def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)
bad = 0
for n in ["two_people", "obama"]:
    g = cv2.imread("%s/%s.pgm" % (faces, n), 0)
    raw_cv = set(tuple(int(v) for v in r) for r in c.detectMultiScale(g, 1.1, 0, minSize=(30, 30)))
    raw_fer = set(tuple(int(v) for v in l.split()[:4]) for l in open("%s/%s_raw.txt" % (out, n)))
    missing = raw_cv - raw_fer
    extra = len(raw_fer - raw_cv) / float(max(1, len(raw_fer)))
    print("%s raw windows: OpenCV %d, fer %d, OpenCV's missing in fer %d, fer extra %.0f%%" %
          (n, len(raw_cv), len(raw_fer), len(missing), 100 * extra))
    if missing or extra > 0.4 or len(raw_cv) < 20:
        print("FAIL: %s raw windows differ too much: missing %s" % (n, sorted(missing)[:5])); bad += 1
    rects, nb = c.detectMultiScale2(g, 1.1, 3, minSize=(30, 30))
    cvf = [(tuple(int(v) for v in r), int(k)) for r, k in zip(rects, nb)]
    ferf = [(tuple(int(v) for v in l.split()[:4]), int(l.split()[4])) for l in open("%s/%s_grouped.txt" % (out, n))]
    print("%s faces: OpenCV %s; fer %s" % (n, cvf, ferf))
    for box, k in cvf:
        best = max(ferf, key=lambda f: iou(box, f[0]), default=None)
        if not best or iou(box, best[0]) < 0.9 or abs(best[1] - k) > 0.25 * k + 1:
            print("FAIL: %s: OpenCV face %s (%d) has no match in fer (best %s)" % (n, box, k, best)); bad += 1
    for box, k in ferf:
        if k >= 10 and not any(iou(box, b) >= 0.9 for b, _ in cvf):
            print("FAIL: %s: fer face %s (%d neighbours) is not one of OpenCV's" % (n, box, k)); bad += 1
print("e2e_haar_opencv: %s" % ("FAIL" if bad else "ok"))
sys.exit(1 if bad else 0)
EOF
