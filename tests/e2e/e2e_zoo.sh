#!/bin/sh
# e2e_zoo.sh - the model zoo (cfg/README.md) through the real CLI:
# 1. every cfg in cfg/ and every tests/cfg/zoo_*_small.cfg parses (`fer net`
#    exits 0) and prints the parameter and FLOP counts its header comment
#    states ("Parameters: N trainable ... + M batch-norm running statistics",
#    "Forward: X GFLOPs");
# 2. a short training run of each zoo architecture (the small variants: same
#    blocks, fewer filters) lowers the training loss from the first epoch to
#    the last;
# 3. transfer learning: `fer partial` cuts the backbone out of a trained
#    net, a cfg with freeze=1 on those layers fine-tunes from it with -clear,
#    and the frozen layers' bytes (weights and batch-norm statistics) in the
#    resulting weights file are the backbone's, byte for byte.
# Steps 2 and 3 need the FER-2013 CSV: without it they are skipped (exit 77).
. tests/e2e/lib.sh
out=tests/out/e2e_zoo
rm -rf $out && mkdir -p $out
pass=0

# 1. parse, and the header's numbers match `fer net`
for cfg in cfg/*.cfg tests/cfg/zoo_*_small.cfg; do
    $FER net "$cfg" > $out/net.txt 2>&1 || { cat $out/net.txt; fail "$cfg does not parse"; }
    got_p=$(sed -n 's/^parameters: \([0-9]*\) trainable (+ \([0-9]*\) batch-norm.*/\1 \2/p' $out/net.txt)
    got_f=$(sed -n 's/^forward: \([0-9.]*\) GFLOPs.*/\1/p' $out/net.txt)
    # the leading comment block, commas dropped, as one line
    hdr=$(sed -n '/^#/!q; p' "$cfg" | tr '\n' ' ' | tr -d ',')
    want_p=$(printf '%s\n' "$hdr" | sed -n 's/.*[Pp]arameters: *\([0-9]*\) trainable.*/\1/p')
    want_s=$(printf '%s\n' "$hdr" | sed -n 's/.*+ *\([0-9]*\) batch-norm running statistics.*/\1/p')
    want_f=$(printf '%s\n' "$hdr" | sed -n 's/.*[Ff]orward: *\([0-9.]*\) GFLOPs.*/\1/p')
    [ -n "$want_p" ] && [ -n "$want_s" ] && [ -n "$want_f" ] ||
        fail "$cfg: the header needs 'Parameters: N trainable ... + M batch-norm running statistics' and 'Forward: X GFLOPs'"
    [ "$got_p" = "$want_p $want_s" ] ||
        fail "$cfg: fer net counts '$got_p' (trainable, statistics), the header says '$want_p $want_s'"
    [ "$got_f" = "$want_f" ] || fail "$cfg: fer net counts $got_f GFLOPs, the header says $want_f"
done
ok "every cfg parses and matches the parameters and FLOPs in its header"

if [ ! -s data/fer2013.csv ]; then
    echo "SKIP: data/fer2013.csv is absent (gunzip ../shared/data/fer2013/fer2013.csv.gz > data/fer2013.csv); the cfg checks passed"
    exit 77
fi

# 2. a short run of each architecture lowers the training loss
for name in mini_xception vgg_fer vgg16 resnet18 resnet50 inceptionv3; do
    cfg=tests/cfg/zoo_${name}_small.cfg
    $FER classifier train $cfg -limit 256 -limit-valid 32 -epochs 3 -seed 1 -threads 2 -quiet -backup $out/$name \
        || fail "training $cfg"
    log=$out/$name/zoo_${name}_small.log.csv
    [ "$(wc -l < $log)" -eq 4 ] || fail "$log: expected a header and 3 epochs"
    first=$(sed -n 2p $log | cut -d, -f2)
    last=$(sed -n 4p $log | cut -d, -f2)
    awk -v a=$first -v b=$last 'BEGIN {exit !(b < a)}' || fail "$name: training loss $first -> $last did not fall"
    ok "$name (small): training loss $first -> $last in 3 epochs of 256 images"
done

# 3. partial backbone -> frozen fine-tuning with -clear
src=tests/cfg/zoo_resnet18_small.cfg
trained=$out/resnet18/zoo_resnet18_small_final.weights
n=$($FER net $src | awk '$2 == "avgpool" {print $1; exit}')
[ -n "$n" ] || fail "no [avgpool] in $src"
$FER partial $src $trained $out/backbone.weights $n > $out/partial.txt || fail "fer partial"
grep -q "wrote the first $n of" $out/partial.txt || fail "fer partial: $(cat $out/partial.txt)"
# the same network with freeze=1 on its first n layers (the backbone)
awk -v n=$n '/^\[/ { print; if (s > 0 && s <= n) print "freeze=1"; s++; next } { print }' $src > $out/finetune.cfg
frozen=$($FER net $out/finetune.cfg | grep -c "(frozen)$")
[ "$frozen" -eq "$n" ] || fail "fer net shows $frozen frozen layers, expected $n"
$FER classifier train $out/finetune.cfg $out/backbone.weights -limit 256 -limit-valid 64 -epochs 1 -seed 2 \
    -threads 2 -quiet -backup $out/ft > $out/noclear.txt 2>&1 && fail "a partial weights file without -clear must be refused"
grep -q "backbone.weights" $out/noclear.txt || fail "the refusal does not name the file: $(cat $out/noclear.txt)"
$FER classifier train $out/finetune.cfg $out/backbone.weights -clear -limit 256 -limit-valid 32 -epochs 2 -seed 2 \
    -threads 2 -backup $out/ft > $out/ft.txt 2>&1 || { cat $out/ft.txt; fail "fine-tuning from the backbone"; }
grep -q "loaded the first [0-9]* of" $out/ft.txt || fail "fine-tuning did not report the partial load: $(head -3 $out/ft.txt)"
final=$out/ft/finetune_final.weights
hdr=20   # int32 major, minor, revision; uint64 seen
len=$(($(wc -c < $out/backbone.weights) - hdr))
cmp -i $hdr -n $len $out/backbone.weights $final || fail "the frozen layers' bytes changed in fine-tuning"
first=$(sed -n 2p $out/ft/finetune.log.csv | cut -d, -f2)
last=$(sed -n 3p $out/ft/finetune.log.csv | cut -d, -f2)
awk -v a=$first -v b=$last 'BEGIN {exit !(b < a)}' || fail "fine-tuning: training loss $first -> $last did not fall"
ok "fer partial -> freeze=1 -> -clear: the $n frozen layers' $len bytes unchanged, the head's loss $first -> $last"
echo "e2e_zoo: $pass passed, 0 failed"
