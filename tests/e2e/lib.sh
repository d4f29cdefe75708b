# lib.sh - what the end-to-end tests share, sourced first by each of them
# (`. tests/e2e/lib.sh`, from the repository's root): the fer binary under
# test, the one place the Python interpreter is chosen, pass/fail/skip.
# A test that cannot run here exits 77 (SKIP) with the reason.
FER=${FER:-./fer}
BUILD=${BUILD:-build}
# Debian's python3 (python3-torch, -opencv, -pil live there), or $PYTHON
PY=${PYTHON:-/usr/bin/python3}
pass=0
fail() { echo "FAIL: $*"; exit 1; }
ok() { pass=$((pass + 1)); echo "ok: $*"; }
skip() { echo "SKIP: $*"; exit 77; }
# need_csv: skips without the FER-2013 CSV (data/README.md)
need_csv() {
    [ -s data/fer2013.csv ] ||
        skip "data/fer2013.csv is absent (gunzip ../shared/data/fer2013/fer2013.csv.gz > data/fer2013.csv)"
}
# photo_faces_missing: why fer cannot find the faces of the sample photos
# here (no Haar cascade, a build without JPEG), or nothing when it can
CASCADE=/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml
photo_faces_missing() {
    [ -f $CASCADE ] || { echo "no face cascade $CASCADE (apt-get install opencv-data)"; return; }
    $FER classifier predict data/samples/obama.jpg 2>&1 | grep -q "built without stb" &&
        echo "fer was built without stb, so it reads no JPEG (apt-get install libstb-dev, then make clean && make)"
}
# need_py MODULES HINT: skips unless $PY imports the modules (comma list)
need_py() {
    [ -x "$PY" ] && "$PY" -c "import $1" 2> /dev/null || skip "$PY with $1 not found ($2)"
}
# synthetic_faces FILE: a FER-2013-style CSV of 384 48x48 faces in three
# easy classes (0 bright top, 1 bright bottom, 2 dark; seeded noise), 288
# Training and 96 PublicTest rows, for tests that need no FER-2013
synthetic_faces() {
    awk 'BEGIN {
        srand(7); print "emotion,pixels,Usage"
        for (i = 0; i < 384; i++) {
            k = i % 3; row = k ""; sep = ","
            for (y = 0; y < 48; y++) for (x = 0; x < 48; x++) {
                v = (k == 0) ? (y < 24 ? 200 : 40) : (k == 1) ? (y < 24 ? 40 : 200) : 30
                v += int(rand() * 30); row = row sep v; sep = " "
            }
            print row "," (i < 288 ? "Training" : "PublicTest")
        }
    }' > "$1"
}
# synthetic_data DIR NAME: synthetic_faces in DIR/faces.csv, its labels (top,
# bottom, dark) and DIR/NAME.data naming them (backup folder DIR/backup)
synthetic_data() {
    synthetic_faces "$1/faces.csv"
    printf 'top\nbottom\ndark\n' > "$1/labels.txt"
    printf 'classes = 3\nlabels = %s\ntrain = %s\nvalid = %s\nbackup = %s\n' "$1/labels.txt" "$1/faces.csv" \
        "$1/faces.csv" "$1/backup" > "$1/$2.data"
}
# synthetic_cfg FILE EPOCHS: tests/cfg/tiny.cfg for synthetic_data's three
# classes (its last [connected] has 3 outputs), trained for EPOCHS
synthetic_cfg() {
    sed "s/^epochs=3\$/epochs=$2/" tests/cfg/tiny.cfg | sed '/^\[softmax\]/,$d' |
        awk '/^output=7$/ { print "output=3"; next } { print }' > "$1" && printf '\n[softmax]\n' >> "$1"
}
# first_face CSV FILE: the CSV's first face as a 48x48 PGM
first_face() {
    head -n 2 "$1" | tail -n 1 | awk -F, '{ n = split($2, p, " "); printf "P2\n48 48\n255\n"
        for (i = 1; i <= n; i++) printf "%s%s", p[i], (i % 48 ? " " : "\n") }' > "$2"
}
# need_sample: skips without ../shared's 56-face image-folder sample; sets
# $sample to it and checks that tool_randweights is built
need_sample() {
    sample=../shared/data/fer2013-sample/train
    [ -d $sample ] || skip "$sample is absent"
    [ -x $BUILD/tests/tool_randweights ] || fail "$BUILD/tests/tool_randweights not built"
}
