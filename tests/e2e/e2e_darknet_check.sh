#!/bin/sh
# e2e_darknet_check.sh - `fer darknet-check` on fer's own cfgs: vgg_fer.cfg's
# [net] crop (Darknet builds 48x48: 1.44x the dense inputs), its cosine policy
# and fractional flip are named with their consequences (exit 1); a
# half-precision file is named with the conversion; a cfg written in
# Darknet's own terms passes (exit 0).
. tests/e2e/lib.sh
out=tests/out/e2e_darknet_check
rm -rf $out && mkdir -p $out
$FER darknet-check cfg/vgg_fer.cfg > $out/vgg.txt && fail "vgg_fer.cfg: exit 0"
for want in "crop=40: Darknet ignores it and builds a 48x48 input: the first dense layer gets 1.44x" \
            "policy=cosine: Darknet does not know this policy" "flip=0.5: AlexeyAB reads flip as an integer" \
            "optimizer=sgd"; do
    grep -q "$want" $out/vgg.txt || { cat $out/vgg.txt; fail "not reported: $want"; }
done
ok "vgg_fer.cfg: $(tail -n 1 $out/vgg.txt)"
$FER darknet-check cfg/vgg_fer48.cfg weights/vgg_fer48.weights > $out/half.txt && fail "a half file: exit 0"
grep -q "half precision (fer's extension).*fer convert" $out/half.txt || fail "the half file is not named"
ok "a half-precision weights file is named with its conversion"
$FER darknet-check tests/cfg/darknet_resnet18.cfg > $out/resnet.txt || { cat $out/resnet.txt; fail "a Darknet-style cfg"; }
ok "$(cat $out/resnet.txt)"
echo "$pass passed"
