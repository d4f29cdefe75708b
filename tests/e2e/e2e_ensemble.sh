#!/bin/sh
# e2e_ensemble.sh - `fer ensemble` on the real CLI, with random-weight models
# (tests/tool_randweights) over ../shared/data/fer2013-sample (56 faces):
#   - an ensemble of one model reports that model's accuracy (as `fer
#     classifier valid` does), its ensemble columns equal its own, and its
#     probabilities are those of `fer classifier predict -json`;
#   - -w 1,3: every ens_ value is 0.25 m1 + 0.75 m2; -w 0,1 is model 2;
#   - members of different input sizes (48x48 and 40x40);
#   - the CSV has a header and one row per image; the last stdout line is
#     `accuracy: 0.XXXX`;
#   - -fit: cross-fitting by default, or on another split; fitting on the
#     reported split's images is refused;
#   - bad arguments and files fail with a message and a non-zero exit.
. tests/e2e/lib.sh
need_sample
out=tests/out/e2e_ensemble
rm -rf $out && mkdir -p $out
ok() { echo "ok: $*"; }

cat > $out/sample.data <<EOF
classes = 7
labels = data/fer2013.labels
train = $sample
valid = $sample
test = $out/half.list
EOF
# the 'test' split: every other image, a different set than 'valid'
find $sample -type f -name '*.jpg' | LC_ALL=C sort | awk 'NR % 2 == 0' > $out/half.list
sed 's/^width=48/width=40/; s/^height=48/height=40/' tests/cfg/tiny.cfg > $out/tiny40.cfg
$BUILD/tests/tool_randweights tests/cfg/tiny.cfg $out/a.weights 1 || fail "randweights a"
$BUILD/tests/tool_randweights tests/cfg/tiny.cfg $out/b.weights 2 || fail "randweights b"
$BUILD/tests/tool_randweights $out/tiny40.cfg $out/c.weights 3 || fail "randweights c"
D=$out/sample.data
# the sample faces are JPEG files: fer reads them only when built with stb
$FER data stats $D > $out/stb.txt 2>&1
if grep -q "built without stb" $out/stb.txt; then
    echo "SKIP: fer was built without stb (apt-get install libstb-dev, then make clean && make): $(sed -n 2p $out/stb.txt)"
    exit 77
fi
T="-threads 1"

last_acc() { tail -n 1 "$1" | sed -n 's/^accuracy: \([0-9]\.[0-9][0-9][0-9][0-9]\)$/\1/p'; }

# 1. one model == that model
$FER ensemble $D tests/cfg/tiny.cfg $out/a.weights -o $out/one.csv $T > $out/one.txt || fail "ensemble of one"
$FER classifier valid $D tests/cfg/tiny.cfg $out/a.weights $T > $out/valid_a.txt || fail "classifier valid a"
acc1=$(last_acc $out/one.txt); accv=$(last_acc $out/valid_a.txt)
[ -n "$acc1" ] || fail "last line of ensemble is not 'accuracy: 0.XXXX'"
[ "$acc1" = "$accv" ] || fail "ensemble of one: accuracy $acc1, classifier valid: $accv"
grep -q "model 1: .*weight 1.0000, accuracy $acc1" $out/one.txt || fail "member line"
[ "$(wc -l < $out/one.csv)" -eq 57 ] || fail "one.csv: header + 56 rows expected"
awk -F, 'NR == 1 { if (NF != 3 + 14 || $4 != "m1_angry" || $11 != "ens_angry") exit 1; next }
         { for (k = 4; k <= 10; k++) if ($k != $(k + 7)) exit 1 }' $out/one.csv || fail "one model: ens_ columns equal m1_"
ok "an ensemble of one model is that model (accuracy $acc1, identical probabilities)"

# the same probabilities as classifier predict, image by image (same order: class folders, sorted names)
for c in angry disgust fear happy sad surprise neutral; do
    find $sample/$c -type f | LC_ALL=C sort
done > $out/order.list
# shellcheck disable=SC2046
$FER classifier predict $D tests/cfg/tiny.cfg $out/a.weights $(cat $out/order.list) -json $T > $out/predict.json || fail "predict"
sed 's/.*"probs": {\([^}]*\)}.*/\1/; s/"[a-z]*": //g; s/ //g' $out/predict.json > $out/predict.csv
tail -n +2 $out/one.csv | cut -d, -f4-10 | paste -d, - $out/predict.csv | awk -F, '
    { for (k = 1; k <= 7; k++) { d = $k - $(k + 7); if (d < 0) d = -d; if (d > m) m = d } }
    END { printf "max |ensemble - predict| = %.3g\n", m; exit !(NR == 56 && m < 2e-6) }' || fail "ensemble probabilities differ from predict -json"
ok "member probabilities equal classifier predict -json"

# 2. weights: -w 1,3 and -w 0,1
$FER ensemble $D tests/cfg/tiny.cfg $out/a.weights tests/cfg/tiny.cfg $out/b.weights -w 1,3 -o $out/w13.csv $T > $out/w13.txt || fail "-w 1,3"
grep -q "weight 0.2500" $out/w13.txt && grep -q "weight 0.7500" $out/w13.txt || fail "-w 1,3 not normalized to 0.25, 0.75"
awk -F, 'NR == 1 { if (NF != 3 + 21) exit 1; next }
         { for (k = 0; k < 7; k++) { d = $(18 + k) - (0.25 * $(4 + k) + 0.75 * $(11 + k)); if (d < 0) d = -d; if (d > m) m = d } }
         END { printf "max |ens - (0.25 m1 + 0.75 m2)| = %.3g\n", m; exit !(m < 5e-7) }' $out/w13.csv || fail "-w 1,3 is not 0.25 m1 + 0.75 m2"
$FER ensemble $D tests/cfg/tiny.cfg $out/a.weights tests/cfg/tiny.cfg $out/b.weights -w 0,1 $T > $out/w01.txt || fail "-w 0,1"
$FER classifier valid $D tests/cfg/tiny.cfg $out/b.weights $T > $out/valid_b.txt || fail "valid b"
[ "$(last_acc $out/w01.txt)" = "$(last_acc $out/valid_b.txt)" ] || fail "-w 0,1 is not model 2"
ok "weights: 1,3 -> 0.25 m1 + 0.75 m2; 0,1 -> model 2"

# 3. members of different input sizes
$FER ensemble $D tests/cfg/tiny.cfg $out/a.weights $out/tiny40.cfg $out/c.weights -o $out/mixed.csv $T > $out/mixed.txt || fail "mixed sizes"
grep -q "(40x40x1)" $out/mixed.txt && grep -q "(48x48x1)" $out/mixed.txt || fail "member sizes not reported"
$FER classifier valid $D $out/tiny40.cfg $out/c.weights $T > $out/valid_c.txt || fail "valid c"
grep -q "model 2: .*accuracy $(last_acc $out/valid_c.txt)" $out/mixed.txt || fail "the 40x40 member's accuracy differs from classifier valid"
ok "members at 48x48 and 40x40 each see their own size"

# 4. -fit
$FER ensemble $D tests/cfg/tiny.cfg $out/a.weights tests/cfg/tiny.cfg $out/b.weights $out/tiny40.cfg $out/c.weights -fit $T > $out/fit_cv.txt \
    || fail "-fit"
grep -q "5-fold cross-fitting on split 'valid'" $out/fit_cv.txt || fail "-fit does not say how it fitted"
[ -n "$(last_acc $out/fit_cv.txt)" ] || fail "-fit: last line"
$FER ensemble $D tests/cfg/tiny.cfg $out/a.weights tests/cfg/tiny.cfg $out/b.weights -fit -fit-split test -fit-objective acc $T > $out/fit_test.txt \
    || fail "-fit -fit-split test"
grep -q "on split 'test'.*images 0..27 of 28" $out/fit_test.txt && grep -q "split 'valid', which the fit did not see" $out/fit_test.txt \
    || fail "-fit-split test: the report does not name both splits"
ok "-fit: cross-fitting, or another split, said so in the output"

# 5. bad input
bad() {   # bad "expected message" args...
    want=$1; shift
    if $FER ensemble "$@" > $out/bad.out 2> $out/bad.err; then fail "ensemble $* should fail"; fi
    grep -q -- "$want" $out/bad.err || { cat $out/bad.err; fail "ensemble $*: message lacks '$want'"; }
}
A="tests/cfg/tiny.cfg $out/a.weights"
B="tests/cfg/tiny.cfg $out/b.weights"
bad "3 weights for 2 models" $D $A $B -w 1,2,3
bad "1 weights for 2 models" $D $A $B -w 1
bad ">= 0" $D $A $B -w -1,2
bad "sum to 0" $D $A $B -w 0,0
bad "expected CFG WEIGHTS pairs" $D $A tests/cfg/tiny.cfg
bad "expected CFG then WEIGHTS" $D $out/a.weights tests/cfg/tiny.cfg
bad "cannot open" $D tests/cfg/tiny.cfg $out/missing.weights
bad "expected valid, test or train" $D $A -split bogus
bad "exclude each other" $D $A $B -w 1,1 -fit
bad "same images as the reported split" $D $A $B -fit -fit-split train
bad "need -fit" $D $A $B -fit-split test
bad "expected nll or acc" $D $A $B -fit -fit-objective best
bad "unknown option" $D $A -bogus
bad "cannot write" $D $A -o /nonexistent-dir/p.csv
if $FER ensemble $D > /dev/null 2>&1; then fail "no models should fail"; fi
ok "bad arguments fail with a message"
echo "ensemble: one model, weights, mixed sizes, fitting and errors all check out"
