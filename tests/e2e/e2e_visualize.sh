#!/bin/sh
# e2e_visualize.sh - `fer visualize confusion|saliency|gradcam|grid|history`
# and `fer data stats -plot` on the real CLI with random-weight models over
# ../shared/data/fer2013-sample: each writes its PNG (and SVG for charts)
# where -o says (or under a default name in the current folder), prints the
# path, and the PNG decodes (Python's PIL when present, else the signature
# and IHDR size are checked) to the expected size; the true class is read
# from the image path; bad arguments and files fail with a message and a
# non-zero exit.
. tests/e2e/lib.sh
need_sample
out=tests/out/e2e_visualize
rm -rf $out && mkdir -p $out
ok() { echo "ok: $*"; }
have_pil=0
[ -x $PY ] && $PY -c 'import PIL.Image' 2>/dev/null && have_pil=1

# png_size FILE -> "W H" from the IHDR (and a full decode with PIL when present)
png_size() {
    if [ $have_pil = 1 ]; then
        $PY -c 'import sys; from PIL import Image; im = Image.open(sys.argv[1]); im.load(); print(*im.size)' "$1"
    else
        [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || return 1
        od -An -tu1 -j16 -N8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'
    fi
}
check_png() {   # check_png FILE MINW MINH
    s=$(png_size "$1") || fail "$1 is not a PNG that decodes"
    set -- "$1" "$2" "$3" $s
    [ -n "$4" ] && [ "$4" -ge "$2" ] && [ "$5" -ge "$3" ] || fail "$1: size ${4}x$5, expected at least ${2}x$3"
}

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
T="-threads 1"
$BUILD/tests/tool_randweights tests/cfg/tiny.cfg $out/a.weights 1 || fail "randweights"
$BUILD/tests/tool_randweights tests/cfg/tiny.cfg $out/b.weights 2 || fail "randweights"
happy=$(find $sample/happy -type f | LC_ALL=C sort | head -n 1)
[ -n "$happy" ] || fail "no happy image in $sample"

# confusion: one model and an ensemble
$FER visualize confusion $D tests/cfg/tiny.cfg $out/a.weights -o $out/conf.png $T > $out/conf.txt || fail "confusion"
grep -q "wrote $out/conf.png" $out/conf.txt && tail -n 1 $out/conf.txt | grep -q '^accuracy: 0\.[0-9]\{4\}$' || fail "confusion output"
check_png $out/conf.png 700 700
$FER visualize confusion $D tests/cfg/tiny.cfg $out/a.weights tests/cfg/tiny.cfg $out/b.weights -w 1,2 -o $out/conf2.png $T > /dev/null \
    || fail "ensemble confusion"
check_png $out/conf2.png 700 700
ok "confusion matrix PNGs (one model, ensemble)"

# saliency and Grad-CAM: predicted and true class (from the path), or -class
$FER visualize saliency $D tests/cfg/tiny.cfg $out/a.weights "$happy" -o $out/sal.png $T > $out/sal.txt || fail "saliency"
grep -q "true: happy" $out/sal.txt || fail "saliency: the true class (happy, from the path) is not reported"
check_png $out/sal.png 600 250
$FER visualize gradcam $D tests/cfg/tiny.cfg $out/a.weights "$happy" -class sad -layer 0 -o $out/cam.png $T > $out/cam.txt || fail "gradcam"
check_png $out/cam.png 600 250
# default name, in the current folder
top=$(pwd)
fer_abs=$(cd "$(dirname "$FER")" && pwd)/$(basename "$FER")
sed "s|^labels = .*|labels = $top/data/fer2013.labels|" $D > $out/abs.data
(cd $out && "$fer_abs" visualize gradcam abs.data "$top/tests/cfg/tiny.cfg" a.weights "$top/$happy" -threads 1 > default.txt) \
    || fail "gradcam with the default name"
name=$(basename "$happy"); name=${name%.*}
[ -s "$out/gradcam_$name.png" ] && grep -q "wrote gradcam_$name.png" $out/default.txt || fail "default name gradcam_$name.png"
ok "saliency and Grad-CAM PNGs (true class from the path, -class, -layer, default name)"

# grid of correct and misclassified examples
$FER visualize grid $D tests/cfg/tiny.cfg $out/a.weights -n 2 -o $out/grid.png $T > $out/grid.txt || fail "grid"
check_png $out/grid.png 600 900
ok "Grad-CAM grid PNG"

# history: PNG and SVG
cat > $out/tiny.log.csv <<EOF
epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds
1,1.80000,0.25000,1.70000,0.30000,0.01,10.0
2,1.60000,0.35000,1.55000,0.38000,0.009,20.0
3,1.45000,0.44000,1.48000,0.42000,0.007,30.0
4,1.35000,0.49000,1.46000,0.45500,0.004,40.0
5,1.28000,0.53000,1.47000,0.45000,0.001,50.0
EOF
$FER visualize history $out/tiny.log.csv -o $out/hist.png > $out/hist.txt || fail "history"
check_png $out/hist.png 1000 400
grep -q "<svg" $out/hist.svg && grep -q "<path" $out/hist.svg || fail "history SVG"
grep -q "best validation accuracy 0.4550 at epoch 4" $out/hist.txt || fail "history: best epoch"
if command -v xmllint > /dev/null; then xmllint --noout $out/hist.svg || fail "history SVG is not well-formed XML"; fi
if [ $have_pil = 1 ] && $PY -c 'import xml.dom.minidom' 2>/dev/null; then
    $PY -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' $out/hist.svg || fail "history SVG is not well-formed XML"
fi
ok "history PNG and SVG"

# class distribution
$FER data stats $D -plot -o $out/dist.png > $out/dist.txt || fail "data stats -plot"
check_png $out/dist.png 1000 400
grep -q "<rect" $out/dist.svg || fail "distribution SVG"
grep -q "train    happy               8" $out/dist.txt || fail "data stats still prints the counts"
ok "class distribution PNG and SVG"

# bad input
bad() {   # bad "expected message" args...
    want=$1; shift
    if $FER "$@" > $out/bad.out 2> $out/bad.err; then fail "fer $* should fail"; fi
    grep -q -- "$want" $out/bad.err || { cat $out/bad.err; fail "fer $*: message lacks '$want'"; }
}
M="tests/cfg/tiny.cfg $out/a.weights"
bad "unknown command 'visualize bogus'" visualize bogus
bad "usage" visualize
bad "cannot open" visualize saliency $D $M $out/missing.png
bad "expected 0..6 or a label name" visualize saliency $D $M "$happy" -class 9
bad "not a class number or label name" visualize gradcam $D $M "$happy" -class joy
bad "Grad-CAM layer 7: expected 0..5" visualize gradcam $D $M "$happy" -layer 7
bad "-layer is for gradcam" visualize saliency $D $M "$happy" -layer 1
bad "not a readable image\|not a PGM" visualize saliency $D $M $out/tiny.log.csv
bad "usage" visualize saliency $D $M
bad "expected 1..32" visualize grid $D $M -n 0
bad "expected CFG WEIGHTS pairs" visualize confusion $D $M tests/cfg/tiny.cfg
bad "cannot open" visualize history $out/missing.csv
bad "expected a header with 'epoch'" visualize history $D
printf 'epoch,train_loss\n1,abc\n' > $out/badnum.csv
bad "not a number" visualize history $out/badnum.csv
printf 'epoch,train_loss,val_acc\n' > $out/empty.csv
bad "no epochs logged" visualize history $out/empty.csv
bad "expected a .png name" visualize history $out/tiny.log.csv -o $out/hist.jpg
bad "give -plot and a .png name" data stats $D -o $out/x.png
bad "cannot write" visualize confusion $D $M -o /nonexistent-dir/c.png
ok "bad arguments fail with a message"
echo "visualize: confusion, saliency, gradcam, grid, history and class distribution pictures check out"
