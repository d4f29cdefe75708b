#!/bin/sh
# e2e_transfer.sh - transfer learning from an ImageNet-style Darknet
# classifier, the seed paper's way, on data made here: a weights file that
# fer writes for tests/cfg/transfer_imagenet.cfg (3-channel 64x64 input,
# 1000 classes) stands in for Darknet's published ImageNet weights;
#   1. fer partial cuts its backbone (5 layers);
#   2. tests/cfg/transfer_fer.cfg puts a new 3-class head on it, backbone
#      frozen; training on 48x48 gray faces (upscaled to 64x64, replicated
#      to 3 channels by fer) lowers the loss and leaves the backbone's bytes
#      as they were;
#   3. a second phase without freeze fine-tunes everything from there;
#   4. bench measures the frozen net's cost per image.
. tests/e2e/lib.sh
out=tests/out/e2e_transfer
rm -rf $out && mkdir -p $out
synthetic_data $out t
$BUILD/tests/tool_randweights tests/cfg/transfer_imagenet.cfg $out/imagenet.weights 5 > /dev/null || fail "tool_randweights"
$FER partial tests/cfg/transfer_imagenet.cfg $out/imagenet.weights $out/backbone.weights 5 > $out/partial.txt ||
    fail "fer partial"
ok "$(cat $out/partial.txt)"
$FER classifier train $out/t.data tests/cfg/transfer_fer.cfg $out/backbone.weights -clear -seed 3 -threads 2 \
    -backup $out/frozen 2> $out/frozen.txt || fail "phase 1 (frozen backbone): $(tail -n 3 $out/frozen.txt)"
grep -q "loaded the first 5 of 9 layers" $out/frozen.txt || fail "the backbone was not loaded as 5 layers"
first=$(awk -F, 'NR == 2 { print $2 }' $out/frozen/transfer_fer.log.csv)
last=$(awk -F, 'END { print $2 }' $out/frozen/transfer_fer.log.csv)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "phase 1: training loss $first -> $last"
$FER partial tests/cfg/transfer_fer.cfg $out/frozen/transfer_fer_final.weights $out/after.weights 5 > /dev/null ||
    fail "cutting the trained backbone"
cmp -i 20 $out/backbone.weights $out/after.weights || fail "the frozen backbone changed"
ok "phase 1: gray 48x48 faces into a 3-channel 64x64 backbone, frozen: loss $first -> $last, backbone bytes unchanged"
sed '/^freeze=1$/d' tests/cfg/transfer_fer.cfg > $out/transfer_fer.cfg
$FER classifier train $out/t.data $out/transfer_fer.cfg $out/frozen/transfer_fer_final.weights -clear -lr 0.02 \
    -epochs 10 -seed 4 -threads 2 -backup $out/tuned 2> $out/tuned.txt || fail "phase 2: $(tail -n 3 $out/tuned.txt)"
$FER classifier valid $out/t.data $out/transfer_fer.cfg $out/tuned/transfer_fer_final.weights > $out/valid.txt ||
    fail "valid after fine-tuning"
acc=$(awk '/^accuracy:/ { print $2 }' $out/valid.txt)
awk -v a="$acc" 'BEGIN { exit !(a > 0.5) }' || fail "fine-tuned accuracy $acc on three easy classes"
ok "phase 2: everything fine-tuned, accuracy $acc"
$FER bench tests/cfg/transfer_fer.cfg -iters 2 -batch 8 -threads 2 > $out/bench.txt 2>&1 || fail "bench"
grep -q "train_img_per_s" $out/bench.txt || fail "bench printed no rate"
ok "bench: $(grep -E '^(train|infer)_img_per_s' $out/bench.txt | tr '\n' ' ')"
echo "$pass passed"
