#!/bin/sh
# e2e_demo.sh - `fer demo` through the real CLI, with random weights on
# tests/cfg/tiny.cfg (the plumbing, not the accuracy):
#   1. the shared photos: two_people has exactly 2 faces, obama exactly 1,
#      at the boxes verified by eye (IoU >= 0.5); annotated PNG, PPM and JPEG
#      outputs; a folder of images gives one PNG each;
#   2. Y4M: a clip made by tool_mkclip goes through a file, stdin (-i -) and
#      stdout (-o -); the output is a Y4M stream with one frame per input
#      frame; JSON lines have the documented fields; track ids stay put
#      while the faces pan;
#   3. -ensemble averages the models' probabilities; -nodetect classifies
#      the centre square;
#   4. errors say what to do and exit non-zero: no camera, no cascade, no
#      default weights, malformed or truncated Y4M, bad options;
#   5. -bench prints the frame rate (the number is in the log).
. tests/e2e/lib.sh
BUILD=${BUILD:-build}
FACES=../shared/data/faces
[ -f $FACES/two_people.pgm ] && [ -f $FACES/obama.pgm ] || { echo "SKIP: $FACES is absent"; exit 77; }
[ -f $CASCADE ] || { echo "SKIP: no face cascade $CASCADE (apt-get install opencv-data)"; exit 77; }
out=tests/out/e2e_demo
rm -rf $out && mkdir -p $out
ok() { echo "ok: $*"; }
# count PATTERN FILE: occurrences of a fixed string
count() { grep -a -o -F "$1" "$2" | wc -l | tr -d ' '; }

$BUILD/tests/tool_randweights tests/cfg/tiny.cfg $out/a.weights 1 > /dev/null || fail "tool_randweights"
$BUILD/tests/tool_randweights tests/cfg/tiny.cfg $out/b.weights 2 > /dev/null || fail "tool_randweights"
M="tests/cfg/tiny.cfg $out/a.weights"

# 1. photos
$FER demo $M -i $FACES/two_people.pgm -json -o $out/two_people.png > $out/two.json 2> $out/two.err || fail "two_people: $(cat $out/two.err)"
$FER demo $M -i $FACES/obama.pgm -json -o $out/obama.ppm > $out/obama.json 2> $out/obama.err || fail "obama: $(cat $out/obama.err)"
[ "$(count '"label"' $out/two.json)" = 2 ] || fail "two_people: expected 2 faces: $(cat $out/two.json)"
[ "$(count '"label"' $out/obama.json)" = 1 ] || fail "obama: expected 1 face: $(cat $out/obama.json)"
# boxes verified by looking at the annotated PNGs (x y w h)
iou_ok() {   # iou_ok JSONFILE X Y W H: some face overlaps the box with IoU >= 0.5
    sed 's/"box"/\n"box"/g' "$1" | sed -n 's/^"box": \[\([0-9-]*\), \([0-9-]*\), \([0-9]*\), \([0-9]*\)\].*/\1 \2 \3 \4/p' |
        awk -v X=$2 -v Y=$3 -v W=$4 -v H=$5 '{
            x0 = ($1 > X ? $1 : X); y0 = ($2 > Y ? $2 : Y)
            x1 = ($1 + $3 < X + W ? $1 + $3 : X + W); y1 = ($2 + $4 < Y + H ? $2 + $4 : Y + H)
            i = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0
            u = $3 * $4 + W * H - i
            if (i / u >= 0.5) found = 1 }
            END { exit !found }'
}
iou_ok $out/two.json 235 29 177 177 || fail "two_people: no face over the left face (235,29 177x177)"
iou_ok $out/two.json 786 64 170 170 || fail "two_people: no face over the right face (786,64 170x170)"
iou_ok $out/obama.json 342 95 300 300 || fail "obama: no face over (342,95 300x300)"
ok "photos: 2 and 1 faces at the verified boxes"
[ "$(od -An -c -N4 $out/two_people.png | tr -d ' ')" = "211PNG" ] || fail "two_people.png is not a PNG"
[ "$(head -c 2 $out/obama.ppm)" = "P6" ] || fail "obama.ppm is not a PPM"
$FER demo $M -i $FACES/obama.pgm -o $out/obama.jpg > /dev/null 2>&1 || fail "JPEG output"
[ "$(od -An -tx1 -N3 $out/obama.jpg | tr -d ' ')" = "ffd8ff" ] || fail "obama.jpg is not a JPEG"
mkdir -p $out/in && cp $FACES/two_people.pgm $FACES/obama.pgm $out/in/
$FER demo $M -i $out/in -o $out/annotated -json > $out/folder.json 2> $out/folder.err || fail "folder: $(cat $out/folder.err)"
[ -s $out/annotated/two_people.png ] && [ -s $out/annotated/obama.png ] || fail "folder: missing annotated PNGs"
[ "$(count '"image"' $out/folder.json)" = 2 ] || fail "folder: expected 2 JSON lines"
ok "PNG, PPM, JPEG and folder outputs"

# 2. Y4M
$BUILD/tests/tool_mkclip $FACES/two_people.jpg $out/clip.y4m 30 2> /dev/null ||
    $BUILD/tests/tool_mkclip $FACES/two_people.pgm $out/clip.y4m 30 || fail "tool_mkclip"
$FER demo $M -i $out/clip.y4m -o $out/out.y4m -json > $out/clip.json 2> $out/clip.err || fail "clip: $(cat $out/clip.err)"
[ "$(head -c 10 $out/out.y4m)" = "YUV4MPEG2 " ] || fail "out.y4m has no Y4M header"
[ "$(count FRAME $out/out.y4m)" = 30 ] || fail "out.y4m: expected 30 frames, got $(count FRAME $out/out.y4m)"
[ "$(wc -l < $out/clip.json)" -eq 30 ] || fail "expected 30 JSON lines"
for key in '"frame": 29' '"faces": [' '"label": "' '"probs": {"angry": ' '"ms": {"detect": ' '"classify": ' '"fps": '; do
    grep -q -F "$key" $out/clip.json || fail "JSON lacks $key: $(tail -n 1 $out/clip.json)"
done
if "$PY" -c "import json" 2> /dev/null; then
    "$PY" - $out/clip.json <<'EOF' || fail "JSON lines do not parse or have the wrong shape"
import json, sys
ids = set()
for n, line in enumerate(open(sys.argv[1])):
    j = json.loads(line)
    assert j["frame"] == n and isinstance(j["ms"]["detect"], float) and isinstance(j["ms"]["classify"], float)
    for f in j["faces"]:
        assert len(f["probs"]) == 7 and abs(sum(f["probs"].values()) - 1) < 1e-2 and f["box"][2] > 0
        assert f["label"] == max(f["probs"], key=f["probs"].get)
        ids.add(f["id"])
    assert n < 2 or len(j["faces"]) == 2, "frame %d has %d faces" % (n, len(j["faces"]))
assert ids == {1, 2}, "track ids %s: the two faces should keep ids 1 and 2" % ids
EOF
fi
ok "Y4M file in, Y4M out, JSON lines, stable track ids"
cat $out/clip.y4m | $FER demo $M -i - -json -frames 5 > $out/stdin.json 2> $out/stdin.err || fail "stdin: $(cat $out/stdin.err)"
[ "$(wc -l < $out/stdin.json)" -eq 5 ] || fail "stdin: expected 5 JSON lines"
$FER demo $M -i $out/clip.y4m -o - -frames 4 > $out/stdout.y4m 2> $out/stdout.err || fail "stdout: $(cat $out/stdout.err)"
[ "$(count FRAME $out/stdout.y4m)" = 4 ] && [ "$(head -c 9 $out/stdout.y4m)" = "YUV4MPEG2" ] || fail "stdout Y4M"
$FER demo $M -i $out/clip.y4m -o - -frames 2 2> /dev/null | $FER demo $M -i - -json > $out/pipe.json 2>&1 || fail "fer | fer"
[ "$(wc -l < $out/pipe.json)" -eq 2 ] || fail "pipe: expected 2 lines"
ok "Y4M through stdin and stdout"

# 3. ensemble and -nodetect
$FER demo tests/cfg/tiny.cfg $out/b.weights -i $FACES/obama.pgm -json -nosmooth > $out/b.json 2>&1 || fail "model b"
$FER demo $M -i $FACES/obama.pgm -json -nosmooth > $out/a.json 2>&1 || fail "model a"
$FER demo $M -ensemble tests/cfg/tiny.cfg $out/b.weights -i $FACES/obama.pgm -json -nosmooth > $out/ab.json 2>&1 || fail "ensemble"
probs() { sed -n 's/.*"probs": {\([^}]*\)}.*/\1/p' "$1" | sed 's/"[a-z]*": //g' | tr ',' ' '; }
echo "$(probs $out/a.json) | $(probs $out/b.json) | $(probs $out/ab.json)" | awk -F'|' '{
    split($1, a, " "); split($2, b, " "); split($3, c, " ")
    for (i = 1; i <= 7; i++) { d = (a[i] + b[i]) / 2 - c[i]; if (d > 2e-6 || d < -2e-6) exit 1 }
    exit (length(c) == 7 ? 0 : 1) }' || fail "ensemble is not the mean: $(probs $out/a.json) / $(probs $out/b.json) / $(probs $out/ab.json)"
$FER demo $M -i $FACES/obama.pgm -json -nodetect > $out/nodetect.json 2>&1 || fail "-nodetect"
grep -q -F '"box": [0, 113, 910, 910]' $out/nodetect.json || fail "-nodetect box: $(cat $out/nodetect.json)"
ok "ensemble mean, -nodetect centre square"

# 4. errors
expect_error() {   # expect_error TEXT ARGS...: non-zero exit and TEXT in the message
    text=$1; shift
    "$@" > $out/err.out 2> $out/err.txt && fail "should fail: $*"
    grep -q -F "$text" $out/err.txt || fail "'$*': message lacks '$text': $(cat $out/err.txt)"
}
expect_error "no /dev/video99: plug in a camera" $FER demo $M -c 99
expect_error "apt-get install opencv-data" $FER demo $M -i $FACES/obama.pgm -cascade $out/no_such.xml
expect_error "not a Y4M stream" sh -c "printf 'P5\n1 1\n255\n' | $FER demo $M -i -"
printf 'YUV4MPEG2 W64 H48 C420jpeg\nFRAME\nshort' > $out/truncated.y4m
expect_error "truncated" $FER demo $M -i $out/truncated.y4m -json
printf 'YUV4MPEG2 W64 H48 C420p10\n' > $out/p10.y4m
expect_error "unsupported chroma" $FER demo $M -i $out/p10.y4m
expect_error "video is written as Y4M" $FER demo $M -i $out/clip.y4m -o $out/video.png
expect_error "unknown option -bogus" $FER demo $M -bogus
expect_error "no_such.jpg" $FER demo $M -i $out/no_such.jpg
ferabs=$(cd "$(dirname "$FER")" && pwd)/$(basename "$FER")
facesabs=$(cd $FACES && pwd)
(cd $out && "$ferabs" demo -i "$facesabs/obama.pgm" > from_elsewhere.json 2> err.txt) ||
    fail "the default model is not found from another folder: $(cat $out/err.txt)"
grep -q '"label": "happy"' $out/from_elsewhere.json || fail "from another folder: $(cat $out/from_elsewhere.json)"
ok "errors: camera, cascade, Y4M, options; the default model found from another folder"

# 5. speed on the 640x480 clip (two faces)
$FER demo $M -i $out/clip.y4m -o /dev/null -bench 2> $out/bench.txt > /dev/null || fail "bench"
grep -q "^bench: 30 frames 640x480 .* fps" $out/bench.txt || fail "bench line: $(cat $out/bench.txt)"
ok "$(cat $out/bench.txt)"
echo "e2e_demo: all passed"
