#!/bin/sh
# e2e_darknet_check.sh - `fer darknet-check` on fer's own cfgs: a [net] crop
# (Darknet builds 48x48: 1.44x the dense inputs), vgg_fer.cfg's cosine policy
# and fractional flip are named with their consequences (exit 1), while
# nothing in the shipped cfgs changes the network Darknet builds; the [crop]
# layer that replaced vgg_fer's [net] crop computes what it did (the same
# weights give the same accuracy and loss, ten-crop -tta included, and the
# same probabilities from `classifier predict`); `dilation` is named for
# pjreddie's Darknet, as are the sections and activations it lacks, and the
# shortcuts between sizes that AlexeyAB's refuses; a half-precision file is
# named with the conversion; a cfg written in Darknet's own terms passes
# (exit 0).
. tests/e2e/lib.sh
out=tests/out/e2e_darknet_check
rm -rf $out && mkdir -p $out
$FER darknet-check cfg/vgg_fer.cfg > $out/vgg.txt && fail "vgg_fer.cfg: exit 0"
for want in "policy=cosine: Darknet does not know this policy" "flip=0.5: AlexeyAB reads flip as an integer" \
            "optimizer=sgd"; do
    grep -q "$want" $out/vgg.txt || { cat $out/vgg.txt; fail "not reported: $want"; }
done
ok "vgg_fer.cfg: $(tail -n 1 $out/vgg.txt)"
# what would change the network itself: [net] crop, non-square kernels...
# (inceptionv3.cfg's 1x7 and 7x1 kernels have no Darknet spelling: it is
# fer's, and darknet-check says so)
for cfg in cfg/*.cfg; do
    $FER darknet-check $cfg > $out/one.txt 2> $out/one_err.txt
    rc=$?
    [ $rc -le 1 ] && [ ! -s $out/one_err.txt ] || fail "$cfg: exit $rc, $(cat $out/one_err.txt)"
    if [ $cfg = cfg/inceptionv3.cfg ]; then
        grep -q "square kernels only" $out/one.txt || fail "$cfg: its non-square kernels are not named"
        continue
    fi
    grep -v "^$cfg:[0-9]*: \[net\] " $out/one.txt | grep -v "things* Darknet reads otherwise" |
        grep -v ": Darknet builds and trains this network as fer does$" && fail "$cfg: Darknet builds another network"
done
ok "every shipped cfg but inceptionv3's non-square kernels builds the same network in Darknet"

# [net] crop=N versus a leading [crop] layer: the same weights, the same
# results (tests/cfg/zoo_vgg_fer_small.cfg with 3 classes, for the synthetic
# faces; crop 41 leaves an odd margin, where the mirrored centre is easiest
# to get wrong): valid with one view and ten, predict, fer average's
# batch-norm re-estimation on centre views, and Grad-CAM drawn on the window
synthetic_data $out faces
LC_ALL=C awk 'BEGIN { srand(5); printf "P5\n48 48\n255\n"; for (i = 0; i < 2304; i++) printf "%c", int(rand() * 256) }' \
    > $out/face.pgm
same_probs='import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
pa, pb = a["faces"][0]["probs"], b["faces"][0]["probs"]
sys.exit(0 if pa.keys() == pb.keys() and all(abs(pa[k] - pb[k]) < 1e-5 for k in pa) else 1)'
for c in 40 41; do
    old=$out/net_crop$c.cfg
    new=$out/layer_crop$c.cfg
    sed "s/^output=7$/output=3/; s/^crop=40$/crop=$c/" tests/cfg/zoo_vgg_fer_small.cfg > $old
    grep -q "^crop=$c$" $old && grep -q '^output=3$' $old || fail "$old: no [net] crop=$c or no output=3"
    awk -v c=$c '/^crop=/ { next }
        /^# 0$/ && !done { print "[crop]\ncrop_height=" c "\ncrop_width=" c "\nnoadjust=1\n"; done = 1 } { print }' \
        $old > $new
    if [ $c = 40 ]; then
        $FER darknet-check $old > $out/old.txt && fail "[net] crop=40: exit 0"
        grep -q "crop=40: Darknet ignores it and builds a 48x48 input: the first dense layer gets 1.44x" $out/old.txt ||
            fail "[net] crop not named: $(cat $out/old.txt)"
        $FER darknet-check $new > $out/new.txt
        grep -q "crop=" $out/new.txt && fail "[crop] layer reported: $(cat $out/new.txt)"
    fi
    "$BUILD/tests/tool_randweights" $old $out/w$c.weights 3 > /dev/null || fail "tool_randweights"
    for tta in "" -tta; do
        for cfg in $old $new; do
            $FER classifier valid $out/faces.data $cfg $out/w$c.weights $tta -split valid -threads 2 > $out/v.txt 2>&1 ||
                { cat $out/v.txt; fail "valid $cfg $tta"; }
            grep -E '^(accuracy|loss|top-2)' $out/v.txt > $out/v_${cfg##*/}$tta.txt
        done
        [ -s $out/v_${new##*/}$tta.txt ] && cmp -s $out/v_${old##*/}$tta.txt $out/v_${new##*/}$tta.txt ||
            { paste $out/v_${old##*/}$tta.txt $out/v_${new##*/}$tta.txt; fail "[crop] layer $c differs ($tta)"; }
    done
    for cfg in $old $new; do
        $FER classifier predict $out/faces.data $cfg $out/w$c.weights $out/face.pgm -nodetect -json \
            > $out/p_${cfg##*/}.json || fail "predict $cfg"
    done
    cmp -s $out/p_${old##*/}.json $out/p_${new##*/}.json ||
        "$PY" -c "$same_probs" $out/p_${old##*/}.json $out/p_${new##*/}.json ||
        fail "predict: the [crop] layer's probabilities differ: $(cat $out/p_*$c.cfg.json)"
    # (dropout off: its masks are keyed by layer index, which the [crop] layer
    # shifts; an odd margin too: [net] crop's centre view for the statistics
    # is at whole pixels, where valid and [crop] take it)
    for cfg in $old $new; do
        $FER average $out/faces.data $cfg $out/avg_${cfg##*/}.weights $out/w$c.weights -bn 96 -bn-no-dropout -threads 2 \
            > $out/avg.txt 2>&1 || { cat $out/avg.txt; fail "average $cfg"; }
    done
    "$BUILD/tests/tool_wdiff" $out/avg_${old##*/}.weights $out/avg_${new##*/}.weights 1e-6 > $out/wdiff.txt ||
        fail "fer average: re-estimated statistics differ with the [crop] layer: $(cat $out/wdiff.txt)"
done
ok "a leading [crop] layer gives what [net] crop gave (valid, -tta, predict, fer average; margins 8 and 7)"
if [ -x "$PY" ] && "$PY" -c 'import numpy' 2> /dev/null; then
    # Grad-CAM: the [crop] network's map is the [net] crop one's, placed on
    # the centre window of the whole face and 0 outside it
    "$PY" -c 'import numpy as np; np.random.default_rng(4).random((1, 48, 48), dtype=np.float32).tofile("'$out/x48.bin'")'
    "$PY" -c 'import numpy as np; np.fromfile("'$out/x48.bin'", np.float32).reshape(1, 48, 48)[:, 4:44, 4:44].tofile("'$out/x40.bin'")'
    "$BUILD/tests/tool_explain" $out/net_crop40.cfg $out/w40.weights $out/x40.bin $out/cam40.bin > /dev/null &&
        "$BUILD/tests/tool_explain" $out/layer_crop40.cfg $out/w40.weights $out/x48.bin $out/cam48.bin > /dev/null ||
        fail "tool_explain"
    "$PY" - $out/cam40.bin $out/cam48.bin << 'EOF_PY' || fail "Grad-CAM under a [crop] layer is misplaced"
import sys
import numpy as np
old = np.fromfile(sys.argv[1], np.float32)[-40 * 40:].reshape(40, 40)
new = np.fromfile(sys.argv[2], np.float32)[-48 * 48:].reshape(48, 48)
inside = new[4:44, 4:44]
outside = new.copy()
outside[4:44, 4:44] = 0
ok = old.max() > 0 and np.abs(inside - old).max() <= 1e-5 * old.max() and not outside.any()
print("cam max %.4g, inside diff %.3g, outside max %.3g" % (old.max(), np.abs(inside - old).max(), np.abs(outside).max()))
sys.exit(0 if ok else 1)
EOF_PY
    ok "Grad-CAM under a [crop] layer: the [net] crop map on the centre window, 0 outside"
else
    echo "SKIP: $PY with numpy not found: the Grad-CAM placement check"
fi

# dilation: AlexeyAB's, not pjreddie's
$FER darknet-check tests/cfg/darknet_dilated.cfg > $out/dil.txt && fail "dilation: exit 0"
grep -q "dilation=2: pjreddie's Darknet ignores it" $out/dil.txt || fail "dilation not named: $(cat $out/dil.txt)"
ok "dilation is named as AlexeyAB's only"
$FER darknet-check cfg/vgg_fer48.cfg weights/vgg_fer48.weights > $out/half.txt && fail "a half file: exit 0"
grep -q "half precision (fer's extension).*fer convert" $out/half.txt || fail "the half file is not named"
ok "a half-precision weights file is named with its conversion"
$FER darknet-check tests/cfg/darknet_darknet53.cfg > $out/dn53.txt 2> /dev/null ||
    { cat $out/dn53.txt; fail "a Darknet-style cfg"; }
ok "$(cat $out/dn53.txt)"

# what one Darknet builds and the other does not: ResNet's strided shortcuts
# (AlexeyAB's asserts), AlexeyAB's sections and activations (pjreddie's),
# fer's spellings (both); policy=step's scale is not a zoom
$FER darknet-check tests/cfg/darknet_resnet18.cfg > $out/resnet.txt 2> /dev/null && fail "resnet18: exit 0"
[ "$(grep -c "\[shortcut\] layer [0-9]* from layer [0-9]*: adds a .* map to a .* one: .*AlexeyAB's asserts equal sizes" \
    $out/resnet.txt)" = 3 ] || fail "resnet18's three strided shortcuts: $(cat $out/resnet.txt)"
$FER darknet-check tests/cfg/darknet_dialect.cfg > $out/dialect.txt 2> /dev/null && fail "dialect: exit 0"
for want in "\[scale_channels\]: pjreddie's Darknet aborts on it" "\[reorg3d\]: pjreddie's Darknet aborts on it" \
            "\[local_avg\]: pjreddie's Darknet aborts on it" "from=-1,3: pjreddie's Darknet reads only the first" \
            "weights_type=per_channel: pjreddie's Darknet has no shortcut weights" \
            "\[route\] groups=2: pjreddie's Darknet ignores it" \
            "activation=hard_mish: pjreddie's Darknet does not know it and computes ReLU here"; do
    grep -q "$want" $out/dialect.txt || fail "not reported: $want: $(cat $out/dialect.txt)"
done
sed '0,/^activation=leaky$/s//activation=sigmoid/; s/^policy=poly$/policy=step\nstep=10\nscale=0.5/' \
    tests/cfg/darknet_darknet53.cfg > $out/spell.cfg
grep -q '^scale=0.5$' $out/spell.cfg && grep -q '^activation=sigmoid$' $out/spell.cfg || fail "spell.cfg"
$FER net $out/spell.cfg > /dev/null 2>&1 || fail "spell.cfg does not build"
$FER darknet-check $out/spell.cfg > $out/spell.txt 2> /dev/null
grep -q "activation=sigmoid: fer's spelling of logistic: both Darknets compute ReLU here" $out/spell.txt ||
    fail "sigmoid not named: $(cat $out/spell.txt)"
grep -q "scale=0.5" $out/spell.txt && fail "policy=step's scale taken for a zoom: $(cat $out/spell.txt)"
sed 's/^policy=step$/policy=steps\nsteps=5\nscales=.5/' $out/spell.cfg > $out/steps.cfg
$FER darknet-check $out/steps.cfg > $out/steps.txt 2> /dev/null
grep -q "scale=0.5: Darknet has no zoom jitter" $out/steps.txt || fail "policy=steps: scale not named as a zoom"
printf '[net]\nwidth=8\nheight=8\nchannels=1\n[convolutional]\nfilters=2\nsize=1\ndilation=2\n' > $out/dil1.cfg
$FER darknet-check $out/dil1.cfg > $out/dil1.txt 2>&1 || fail "a dilated 1x1 named: $(cat $out/dil1.txt)"
ok "strided shortcuts (AlexeyAB aborts), AlexeyAB-only sections and activations, fer's spellings are named"
echo "$pass passed"
