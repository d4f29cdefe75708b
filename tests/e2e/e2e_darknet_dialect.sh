#!/bin/sh
# e2e_darknet_dialect.sh - Darknet's classifier dialect through the real CLI,
# on cfgs written for these tests in the shape of Darknet's classifiers
# (tests/cfg/darknet_*.cfg: resnet18/50, resnext50, darknet53,
# efficientnet_b0, vgg-16 and alexnet with [crop], csdarknet53-omega; each
# header says what it reproduces):
# 1. each builds (`fer net` exits 0), and its parameter count equals the
#    independent count of tests/ref/fer_torch.py (when PyTorch is installed);
# 2. Darknet keys that fer does not act on are accepted with a warning that
#    says so: AlexeyAB's augmentation keys in [net] (mosaic, hue...; cutmix is done here),
#    per-layer keys (xnor, dontload) and [crop]'s GPU-only jitter;
#    activations and shortcut weights fer does not compute are refused with
#    the key and file:line;
# 3. one forward and backward pass of each matches PyTorch
#    (tests/ref/golden_torch.py, train and inference mode);
# 4. short training runs (resnet18's strided shortcuts, efficientnet_b0's
#    squeeze-and-excitation, vgg-16's random [crop]) lower the training loss,
#    and `fer classifier valid` reads vgg-16's weights (the centre crop).
# Steps 3 and the count in 1 need /usr/bin/python3 with torch, step 4 the
# FER-2013 CSV; each missing one is reported and skipped (exit 77 when
# everything but step 1 and 2 was skipped).
. tests/e2e/lib.sh
out=tests/out/e2e_darknet_dialect
rm -rf $out && mkdir -p $out
have_torch=0
[ -x "$PY" ] && "$PY" -c 'import torch, numpy' 2> /dev/null && have_torch=1

# 1. every cfg builds; parameters as PyTorch counts them
for cfg in tests/cfg/darknet_*.cfg; do
    $FER net "$cfg" > $out/net.txt 2> $out/warn.txt || { cat $out/net.txt $out/warn.txt; fail "$cfg does not build"; }
    grep -q "unknown\|not supported" $out/warn.txt && fail "$cfg: $(cat $out/warn.txt)"
    [ $have_torch -eq 1 ] || continue
    got=$(sed -n 's/^parameters: \([0-9]*\) trainable (+ \([0-9]*\) batch-norm.*/\1 \2/p' $out/net.txt)
    want=$("$PY" tests/ref/fer_torch.py summary "$cfg" | sed -n 's/^parameters: //p')
    [ "$(echo $got | awk '{print $1 + $2}')" = "$want" ] ||
        fail "$cfg: fer counts $got (trainable, statistics), PyTorch $want"
done
if [ $have_torch -eq 1 ]; then
    ok "every tests/cfg/darknet_*.cfg builds, with the parameter count PyTorch gives"
else
    ok "every tests/cfg/darknet_*.cfg builds ($PY with torch not found: counts not compared)"
fi

# 2. warnings for what training here does not do; refusals name the key
$FER net tests/cfg/darknet_csdarknet53.cfg > /dev/null 2> $out/warn.txt || fail "csdarknet53"
for key in mosaic=1 hue=.1 saturation=.75 exposure=.75 aspect=.75 min_crop=48; do
    grep -q "darknet_csdarknet53.cfg:[0-9]*: warning: \[net\] $key: .*training here will NOT" $out/warn.txt ||
        fail "no warning for [net] $key: $(cat $out/warn.txt)"
done
! grep -q "cutmix" $out/warn.txt || fail "cutmix=1 is done here, yet warned about: $(cat $out/warn.txt)"
sed 's/^activation=ramp$/activation=ramp\nxnor=1\ndontload=1/' tests/cfg/darknet_alexnet.cfg |
    sed 's/^angle=0$/angle=7/' > $out/alexnet_keys.cfg
$FER net $out/alexnet_keys.cfg > /dev/null 2> $out/warn.txt || fail "alexnet with xnor/dontload: $(cat $out/warn.txt)"
grep -q "alexnet_keys.cfg:[0-9]*: warning: \[convolutional\] xnor=1: .*full precision" $out/warn.txt &&
    grep -q "warning: \[convolutional\] dontload=1: " $out/warn.txt &&
    grep -q "warning: \[crop\] angle=7: Darknet's GPU build .* training here will NOT" $out/warn.txt ||
    fail "per-layer keys: $(cat $out/warn.txt)"
sed 's/^activation=ramp$/activation=normalize_channels/' tests/cfg/darknet_alexnet.cfg > $out/refused.cfg
$FER net $out/refused.cfg > /dev/null 2> $out/err.txt && fail "activation=normalize_channels accepted"
grep -q "refused.cfg:[0-9]*: \[convolutional\] activation=normalize_channels: not supported" $out/err.txt ||
    fail "normalize_channels: $(cat $out/err.txt)"
ok "Darknet keys fer does not act on: warnings with file:line ([net], per layer, [crop]); refusals name the key"

# 3. the golden test on each (csdarknet53: seed 3, whose random rolling
# statistics keep the inference-mode logits small enough for 1e-4)
if [ $have_torch -eq 1 ]; then
    tool="$BUILD/tests/tool_golden"
    [ -x "$tool" ] || fail "$tool not built (make $tool)"
    for cfg in tests/cfg/darknet_*.cfg; do
        seed=1
        [ "$cfg" = tests/cfg/darknet_csdarknet53.cfg ] && seed=3
        "$PY" tests/ref/golden_torch.py "$tool" "$cfg" $out/golden --seed $seed > $out/golden.txt 2>&1 ||
            { tail -20 $out/golden.txt; fail "$cfg differs from PyTorch"; }
    done
    ok "every tests/cfg/darknet_*.cfg matches PyTorch in one training-mode and one inference pass"
else
    echo "SKIP: $PY with torch not found: the golden comparison"
fi

# 4. training lowers the loss
if [ ! -s data/fer2013.csv ]; then
    echo "SKIP: data/fer2013.csv is absent: no training runs"
    [ $have_torch -eq 1 ] || exit 77
    exit 0
fi
for spec in "resnet18" "efficientnet_b0" "vgg16 -lr 0.005"; do
    set -- $spec
    name=$1
    shift
    cfg=tests/cfg/darknet_$name.cfg
    mkdir -p $out/$name
    $FER classifier train $cfg -limit 256 -limit-valid 32 -epochs 3 -seed 1 -threads 2 -quiet -backup $out/$name "$@" \
        2> $out/$name/stderr.txt || { cat $out/$name/stderr.txt; fail "training $cfg"; }
    log=$out/$name/darknet_$name.log.csv
    first=$(sed -n 2p $log | cut -d, -f2)
    last=$(sed -n 4p $log | cut -d, -f2)
    awk -v a=$first -v b=$last 'BEGIN {exit !(b < a)}' || fail "$name: training loss $first -> $last did not fall"
    ok "$name: training loss $first -> $last in 3 epochs of 256 images"
done
$FER classifier valid tests/cfg/darknet_vgg16.cfg $out/vgg16/darknet_vgg16_final.weights -limit 64 -threads 2 \
    > $out/valid.txt 2>&1 || { cat $out/valid.txt; fail "valid on vgg16"; }
grep -q "^accuracy: " $out/valid.txt || fail "valid printed no accuracy: $(tail -3 $out/valid.txt)"
ok "fer classifier valid reads the trained vgg-16 ([crop] at test time: the centre)"
