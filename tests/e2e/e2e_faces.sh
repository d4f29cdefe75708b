#!/bin/sh
# e2e_faces.sh - faces in every front end, one JSON shape:
#   - `classifier predict -json` on data/samples/two_people.jpg finds two
#     faces with named probabilities; on a 48x48 crop it gives one face
#     whose box is the whole image; a picture with no face gives an empty
#     list, says so in text, and exits 0; -detect / -nodetect force either;
#   - predict, demo (a still and video frames) print JSON that Python's json
#     module parses (it rejects NaN) in the one shape, 6 decimals;
#   - predict and demo run from / give the same output as from here;
#   - the Python module (src/python/fer over ./libfer.so) finds the same
#     faces with the same probabilities as predict -json (1e-6);
#   - visualize gradcam/saliency on a photo explain its largest face, with
#     predict's box and probability;
#   - fer --version and fer_version() agree.
. tests/e2e/lib.sh
out=$(pwd)/tests/out/e2e_faces
rm -rf $out && mkdir -p $out
[ -f $CASCADE ] || skip "no face cascade (apt-get install opencv-data)"
[ -x "$PY" ] || skip "$PY is absent (the JSON checks use Python's json module)"
TWO=data/samples/two_people.jpg
$FER classifier predict $TWO -json > $out/two.json || fail "predict -json"
$FER classifier predict $TWO > $out/two.txt || fail "predict"
grep -q "2 faces" $out/two.txt || { cat $out/two.txt; fail "predict (text): expected 2 faces"; }

# a 48x48 crop, a picture without a face, forced modes
printf 'P5\n48 48\n255\n' > $out/crop.pgm && head -c 2304 /dev/urandom >> $out/crop.pgm
$FER classifier predict $out/crop.pgm -json > $out/crop.json || fail "predict on a 48x48 crop"
printf 'P5\n400 300\n255\n' > $out/flat.pgm && head -c 120000 /dev/zero | tr '\0' '\200' >> $out/flat.pgm
$FER classifier predict $out/flat.pgm -json > $out/flat.json || fail "predict on a picture without a face: non-zero exit"
$FER classifier predict $out/flat.pgm > $out/flat.txt || fail "predict (text) without a face"
grep -q "no face found" $out/flat.txt || fail "predict: 'no face found' not said"
$FER classifier predict $out/flat.pgm -nodetect -json > $out/flat_nodetect.json || fail "-nodetect"
$FER classifier predict $out/crop.pgm -detect -json > $out/crop_detect.json || fail "-detect"

# the demo: a still and a few video frames
$FER demo -i $TWO -json > $out/demo_two.json 2> /dev/null || fail "demo -i still -json"
if [ -x $BUILD/tests/tool_mkclip ] && [ -f ../shared/data/faces/two_people.pgm ]; then
    $BUILD/tests/tool_mkclip ../shared/data/faces/two_people.pgm $out/clip.y4m 3 > /dev/null || fail "tool_mkclip"
    $FER demo -i $out/clip.y4m -json -nopace > $out/demo_clip.json 2> /dev/null || fail "demo -i clip -json"
else
    : > $out/demo_clip.json
fi

"$PY" - $out $TWO <<'EOF' || fail "JSON shape"
import json, sys, re
out, two = sys.argv[1], sys.argv[2]
def lines(name):
    return [json.loads(l) for l in open(out + "/" + name) if l.strip()]
def check_face(f, w=None, h=None):
    assert set(f) <= {"box", "label", "probs", "id"}, f
    assert len(f["box"]) == 4 and all(isinstance(v, int) for v in f["box"]) and f["box"][2] > 0
    assert list(f["probs"]) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"], f["probs"]
    assert abs(sum(f["probs"].values()) - 1) < 1e-4 and f["label"] == max(f["probs"], key=f["probs"].get)
    if w is not None:
        assert f["box"] == [0, 0, w, h], f["box"]
two = lines("two.json")
assert len(two) == 1 and two[0]["image"].endswith("two_people.jpg") and len(two[0]["faces"]) == 2, two
for f in two[0]["faces"]:
    check_face(f)
crop = lines("crop.json")
assert len(crop[0]["faces"]) == 1; check_face(crop[0]["faces"][0], 48, 48)
assert lines("flat.json")[0]["faces"] == [], "a flat picture has no face"
assert len(lines("flat_nodetect.json")[0]["faces"]) == 1; check_face(lines("flat_nodetect.json")[0]["faces"][0], 400, 300)
assert lines("crop_detect.json")[0]["faces"] == [], "-detect on noise finds no face"
demo = lines("demo_two.json")
assert len(demo[0]["faces"]) == 2 and "fps" not in demo[0] and "frame" not in demo[0], demo
for f in demo[0]["faces"]:
    check_face(f)
for n, j in enumerate(lines("demo_clip.json")):
    assert j["frame"] == n and "fps" in j and "image" not in j
    for f in j["faces"]:
        check_face(f)
for name in ("two.json", "demo_two.json"):
    for probs in re.findall(r'"probs": \{([^}]*)\}', open(out + "/" + name).read()):
        for p in re.findall(r'": ([-0-9.e]+)', probs):
            assert len(p.split(".")[1]) == 6, "probabilities have 6 decimals: " + p
print("ok: JSON of predict, demo stills and frames parse, one shape, 6 decimals")
EOF
ok "predict: two faces with named probabilities; a crop is one face; no face is an empty list; one JSON shape"

# the same from /
repo=$(pwd)
( cd / && $repo/fer classifier predict $repo/$TWO -json ) > $out/two_root.json || fail "predict from /"
sed "s|\"$repo/|\"|" $out/two_root.json | cmp -s - $out/two.json || fail "predict from / differs: $(cat $out/two_root.json)"
( cd / && $repo/fer demo -i $repo/$TWO -json 2> /dev/null ) > $out/demo_root.json || fail "demo from /"
strip() { sed 's/"ms": {[^}]*}//; s|"image": "[^"]*two_people.jpg"|"image": "two_people.jpg"|' "$1"; }
[ "$(strip $out/demo_root.json)" = "$(strip $out/demo_two.json)" ] || fail "demo from / differs"
ok "predict and demo from / give the repository's output"

# the Python module in the tree
if "$PY" -c "import ctypes" 2> /dev/null && [ -f libfer.so ]; then
    PYTHONPATH=src/python "$PY" - $TWO $out/two.json <<'EOF' || fail "the Python module"
import fer, json, sys
faces = fer.detect_emotions(sys.argv[1])
ref = json.loads(open(sys.argv[2]).read())["faces"]
assert len(faces) == 2 == len(ref), faces
for f, r in zip(faces, ref):
    assert f["box"] == r["box"], (f["box"], r["box"])
    for k, p in r["probs"].items():
        assert abs(f["emotions"][k] - p) <= 1e-6, (k, f["emotions"][k], p)
try:
    fer.Model("/nonexistent.cfg", "x.weights")
    raise SystemExit("no error for a missing cfg")
except fer.Error as e:
    assert "nonexistent.cfg" in str(e)
print("ok: python", fer.version(), "two faces as predict -json (1e-6); errors are fer.Error")
EOF
    ok "the Python module agrees with predict -json"
else
    echo "SKIP (part): libfer.so or ctypes is absent"
fi
# visualize gradcam / saliency on a photo explain its largest face, in the
# view predict classifies: the same box and the same probability; no face
# is an error that names -nodetect, which explains the whole picture
M="cfg/shallow.cfg weights/shallow.weights"
# same_face NAME CFG WEIGHTS: gradcam's face and probability are predict's
same_face() {
    $FER classifier predict $2 $3 $TWO > $out/$1_pred.txt || fail "$1: predict"
    $FER visualize gradcam $2 $3 $TWO -o $out/$1_cam.png > $out/$1_cam.txt || fail "$1: gradcam: $(cat $out/$1_cam.txt)"
    [ -s $out/$1_cam.png ] || fail "$1: gradcam on a photo wrote no picture"
    largest=$(sed -n 's/^  face [0-9]* at \([0-9]*\),\([0-9]*\) \([0-9]*\)x\([0-9]*\): \([a-z]*\) \([0-9.]*\)%.*/\3 \1,\2 \3x\4 \5 \6/p' \
        $out/$1_pred.txt | sort -n | tail -n 1)
    set -- $1 $largest
    grep -q "^face: $3 $4 (the largest of 2 found)" $out/$1_cam.txt ||
        fail "$1: gradcam's face is not predict's largest ($largest): $(cat $out/$1_cam.txt)"
    got=$(sed -n 's/^predicted: \([a-z]*\) (\([0-9.]*\)).*/\1 \2/p' $out/$1_cam.txt)
    echo "$got" | awk -v l=$5 -v p=$6 '{ exit !($1 == l && (100 * $2 - p) < 0.006 && (p - 100 * $2) < 0.006) }' ||
        fail "$1: gradcam predicts '$got', predict says $5 $6% for that face"
    face="$3 $4"
    said="$4, $5 $6%"
}
same_face shallow $M
"$BUILD/tests/tool_randweights" tests/cfg/zoo_vgg_fer_small.cfg $out/crop.weights 3 > /dev/null || fail "tool_randweights"
same_face netcrop tests/cfg/zoo_vgg_fer_small.cfg $out/crop.weights   # [net] crop=40: the view is 48x48, then its centre
set -- $face
$FER visualize saliency $M $TWO -o $out/sal_two.png > $out/sal_two.txt || fail "saliency on a photo"
grep -q "^face: $1 $2 " $out/sal_two.txt || fail "saliency's face: $(cat $out/sal_two.txt)"
$FER visualize gradcam $M $out/flat.pgm -o $out/x.png > $out/nf.txt 2>&1 && fail "gradcam found a face in a flat picture"
grep -q "flat.pgm: no face found (-nodetect" $out/nf.txt || fail "no-face message: $(cat $out/nf.txt)"
[ ! -e $out/x.png ] || fail "a failed gradcam wrote its picture"
$FER visualize gradcam $M $out/flat.pgm -nodetect -o $out/x.png > $out/nd.txt 2>&1 || fail "-nodetect: $(cat $out/nd.txt)"
grep -q "^face:" $out/nd.txt && fail "-nodetect searched for faces"
$FER visualize gradcam $M $TWO -cascade $out/none.xml > $out/nc.txt 2>&1 && fail "a missing -cascade accepted"
grep -q "none.xml" $out/nc.txt || fail "missing cascade: $(cat $out/nc.txt)"
ok "visualize gradcam/saliency on a photo: its largest face ($said), as predict sees it; [net] crop too"
v=$($FER --version) || fail "fer --version"
case "$v" in "fer "[0-9]*.[0-9]*.[0-9]*) ;; *) fail "fer --version printed '$v'";; esac
ok "$v"
echo "$pass passed"
