#!/bin/sh
# e2e_smoke.sh - the fast tier's end-to-end run (make check), on data made
# here so that it needs neither ../shared nor FER-2013: a CSV of 384 faces of
# three synthetic classes (bright top, bright bottom, dark), a .data naming
# it, then net, data stats, train (4 epochs), valid and predict -json,
# through the real command line.
. tests/e2e/lib.sh
out=tests/out/e2e_smoke
rm -rf $out && mkdir -p $out
synthetic_data $out smoke
synthetic_cfg $out/tiny.cfg 4
$FER net $out/tiny.cfg > $out/net.txt || fail "fer net"
grep -q "classes: 3" $out/net.txt || fail "fer net: expected 3 classes"
ok "net"
$FER data stats $out/smoke.data > $out/stats.txt || fail "data stats"
grep -Eq '^train +total +288' $out/stats.txt || fail "data stats: expected 288 training images"
ok "data stats"
$FER classifier train $out/smoke.data $out/tiny.cfg -seed 3 -threads 2 -quiet > $out/train.txt 2>&1 ||
    { cat $out/train.txt; fail "train"; }
[ -s $out/backup/tiny_final.weights ] || fail "train wrote no final weights"
ok "train 4 epochs"
$FER classifier valid $out/smoke.data $out/tiny.cfg $out/backup/tiny_final.weights > $out/valid.txt || fail "valid"
acc=$(awk '/^accuracy:/ { print $2 }' $out/valid.txt)
awk -v a="$acc" 'BEGIN { exit !(a > 0.5) }' || fail "valid accuracy $acc, expected > 0.5 on three easy classes"
ok "valid accuracy $acc"
first_face $out/faces.csv $out/face.pgm
$FER classifier predict $out/smoke.data $out/tiny.cfg $out/backup/tiny_final.weights $out/face.pgm -json > $out/predict.json ||
    fail "predict"
grep -q '"label": "top"' $out/predict.json || { cat $out/predict.json; fail "predict: expected the label top"; }
ok "predict -json"
echo "$pass passed"
