#!/bin/sh
# e2e_train.sh - the real CLI on the shared FER-2013 CSV: data stats match the
# published split counts; a small training run beats chance clearly; an
# interrupted-and-resumed run ends bit-identical to an uninterrupted one;
# SIGTERM saves a checkpoint and exits 0.
. tests/e2e/lib.sh
if [ ! -s data/fer2013.csv ]; then
    echo "SKIP: data/fer2013.csv is absent (gunzip ../shared/data/fer2013/fer2013.csv.gz > data/fer2013.csv)"
    exit 77
fi
out=tests/out/e2e_train
rm -rf $out && mkdir -p $out
pass=0

# 1. split counts (../shared/README.md)
$FER data stats > $out/stats.txt || fail "data stats"
for want in "train angry 3995" "train disgust 436" "train fear 4097" "train happy 7215" "train sad 4830" \
            "train surprise 3171" "train neutral 4965" "train total 28709" "valid angry 467" "valid disgust 56" \
            "valid fear 496" "valid happy 895" "valid sad 653" "valid surprise 415" "valid neutral 607" "valid total 3589"; do
    set -- $want
    awk -v s=$1 -v c=$2 -v n=$3 '$1==s && $2==c && $3==n {found=1} END {exit !found}' $out/stats.txt \
        || fail "data stats: expected '$want'"
done
ok "data stats counts"

# 2. uninterrupted run: 3 epochs on 8192 images
$FER classifier train tests/cfg/tiny.cfg -limit 8192 -limit-valid 512 -seed 7 -threads 2 -quiet -backup $out/a \
    -keep-epochs || fail "training run A"
[ -s $out/a/tiny_epoch1.weights ] && [ -s $out/a/tiny_epoch2.weights ] || fail "-keep-epochs: no per-epoch weights"
cmp $out/a/tiny_epoch3.weights $out/a/tiny_final.weights || fail "-keep-epochs: epoch 3 differs from the final weights"
! cmp -s $out/a/tiny_epoch1.weights $out/a/tiny_epoch2.weights || fail "-keep-epochs: epochs 1 and 2 are identical"
[ -s $out/a/tiny_final.weights ] && [ -s $out/a/tiny_best.weights ] && [ -s $out/a/tiny.log.csv ] || fail "missing outputs"
[ "$(wc -l < $out/a/tiny.log.csv)" -eq 4 ] || fail "log should have a header and 3 epochs"
ok "training writes final, best, last and the CSV log"

# 3. interrupted after epoch 1, resumed: identical weights
$FER classifier train tests/cfg/tiny.cfg -limit 8192 -limit-valid 512 -seed 7 -threads 2 -quiet -backup $out/b -stop-after 1 \
    || fail "run B part 1"
[ -s $out/b/tiny_last.state ] || fail "no state file beside _last.weights"
[ ! -e $out/b/tiny_final.weights ] || fail "stopped run must not write final"
$FER classifier train tests/cfg/tiny.cfg $out/b/tiny_last.weights -limit 8192 -limit-valid 512 -seed 7 -threads 2 -quiet -backup $out/b \
    || fail "run B resume"
cmp $out/a/tiny_final.weights $out/b/tiny_final.weights || fail "resumed run differs from the uninterrupted one"
cmp $out/a/tiny.log.csv $out/b/tiny.log.csv >/dev/null 2>&1 || \
    [ "$(cut -d, -f1-6 $out/a/tiny.log.csv)" = "$(cut -d, -f1-6 $out/b/tiny.log.csv)" ] || fail "logs differ"
ok "resume after epoch 1 is bit-identical"

# 4. the result beats chance clearly (majority class 'happy' is 24.9% of PublicTest)
$FER classifier valid tests/cfg/tiny.cfg $out/a/tiny_final.weights -threads 2 > $out/valid.txt || fail "valid"
acc=$(tail -n 1 $out/valid.txt | sed -n 's/^accuracy: \([0-9.]*\)$/\1/p')
[ -n "$acc" ] || fail "last line of valid is not 'accuracy: X'"
awk -v a=$acc 'BEGIN {exit !(a > 0.33)}' || fail "accuracy $acc is not above 0.33"
ok "tiny net after 3 short epochs: PublicTest accuracy $acc"

# 5. SIGTERM: a checkpoint and its message, exit 0, the run ends there
$FER classifier train tests/cfg/tiny.cfg -limit 4096 -limit-valid 256 -epochs 50 -seed 3 -threads 2 -quiet -backup $out/c \
    2> $out/c.err &
pid=$!
# the first epoch's checkpoint says the handler is in place (a signal before
# it would kill the process): up to 10 minutes on a loaded machine
i=0
while [ ! -s $out/c/tiny_last.weights ] && kill -0 $pid 2> /dev/null && [ $i -lt 3000 ]; do sleep 0.2; i=$((i + 1)); done
[ -s $out/c/tiny_last.weights ] || { kill $pid 2> /dev/null; fail "SIGTERM: no epoch ended"; }
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "SIGTERM: exit code $rc: $(cat $out/c.err)"
# mid-epoch ("interrupted: wrote ...") or in an epoch's end ("interrupted after epoch N")
grep -qE "interrupted: wrote|interrupted after epoch" $out/c.err || fail "SIGTERM: no checkpoint message: $(cat $out/c.err)"
[ -s $out/c/tiny_last.weights ] && [ -s $out/c/tiny_last.state ] || fail "SIGTERM: no checkpoint"
[ ! -e $out/c/tiny_final.weights ] || fail "SIGTERM: the run went on to its end"
ok "SIGTERM saves and exits 0"

# 5b. SIGINT mid-epoch (raised by the run itself after update 170 of 256:
# -signal-at, so the moment is exact), then the same command resumed from
# _last: the final weights are bit-identical to an uninterrupted run's
$FER classifier train tests/cfg/tiny.cfg -limit 4096 -limit-valid 256 -epochs 2 -seed 3 -threads 2 -quiet -backup $out/f \
    -keep-from 2 || fail "run F"
[ ! -e $out/f/tiny_epoch1.weights ] && cmp -s $out/f/tiny_epoch2.weights $out/f/tiny_final.weights ||
    fail "-keep-from 2: expected epoch 2's file (the final weights) and no epoch 1 file"
$FER classifier train tests/cfg/tiny.cfg -limit 4096 -limit-valid 256 -epochs 2 -seed 3 -threads 2 -quiet -backup $out/g \
    -signal-at 170 2> $out/g.err || fail "SIGINT: exit code $?: $(cat $out/g.err)"
grep -q "interrupted: wrote .* at epoch 2 update 42;" $out/g.err || fail "SIGINT message: $(cat $out/g.err)"
[ ! -e $out/g/tiny_final.weights ] || fail "an interrupted run must not write final"
$FER classifier train tests/cfg/tiny.cfg $out/g/tiny_last.weights -limit 4096 -limit-valid 256 -epochs 2 -seed 3 \
    -threads 2 -quiet -backup $out/g || fail "run G resume"
cmp $out/f/tiny_final.weights $out/g/tiny_final.weights || fail "resumed after SIGINT mid-epoch: weights differ"
ok "SIGINT at epoch 2 update 42, resumed: bit-identical to the uninterrupted run; -keep-from 2 kept epoch 2 only"
# 5c. resume means resume: the very same command again (no WEIGHTS) picks up
# _last and its state, says so, and ends bit-identical too; a _last without
# its state is neither resumed nor overwritten; -clear starts over
$FER classifier train tests/cfg/tiny.cfg -limit 4096 -limit-valid 256 -epochs 2 -seed 3 -threads 2 -backup $out/r \
    -signal-at 170 2> $out/r1.err || fail "run R: exit code $?"
$FER classifier train tests/cfg/tiny.cfg -limit 4096 -limit-valid 256 -epochs 2 -seed 3 -threads 2 -backup $out/r \
    2> $out/r2.err || fail "run R, the same command again: $(tail -n 3 $out/r2.err)"
grep -q "resuming from $out/r/tiny_last.weights: epoch 2, update 170" $out/r2.err || fail "no resume notice: $(head -n 3 $out/r2.err)"
grep -Eq '^epoch 1/2: .* \| [0-9]+ s \| (under a minute|~[0-9.]+ (min|h)) left$' $out/r1.err ||
    fail "epoch 1's line gives no time left: $(grep '^epoch 1/2:' $out/r1.err)"
grep -q '^epoch 2/2: .* [0-9] s$' $out/r2.err || fail "the last epoch's line: $(grep '^epoch 2/2:' $out/r2.err)"
cmp $out/f/tiny_final.weights $out/r/tiny_final.weights || fail "the same command resumed: weights differ"
mkdir -p $out/s && cp $out/r/tiny_last.weights $out/s/tiny_last.weights
$FER classifier train tests/cfg/tiny.cfg -limit 4096 -limit-valid 256 -epochs 2 -seed 3 -threads 2 -backup $out/s \
    2> $out/s.err && fail "a _last.weights without its state was silently reused or overwritten"
grep -q "exists without its state" $out/s.err || fail "no reason given: $(cat $out/s.err)"
cmp -s $out/r/tiny_last.weights $out/s/tiny_last.weights || fail "the stateless _last.weights was overwritten"
$FER classifier train tests/cfg/tiny.cfg -limit 2048 -limit-valid 256 -epochs 1 -seed 3 -threads 2 -backup $out/s -clear \
    2> $out/s2.err || fail "-clear over an old _last: $(tail -n 2 $out/s2.err)"
grep -q "starting over (-clear)" $out/s2.err || fail "-clear: no notice"
ok "the same command resumes (bit-identical), a stateless _last is kept, -clear starts over"
# 5d. a kill between the checkpoint's state and its weights: the state of
# epoch 2 beside the weights of epoch 1, epoch 2's weights in _last.weights.next
# (what save_checkpoint leaves then); the same command completes the
# checkpoint by itself and ends bit-identical to run A
B="-limit 8192 -limit-valid 512 -seed 7 -threads 2 -quiet"
$FER classifier train tests/cfg/tiny.cfg $B -backup $out/k -stop-after 1 || fail "run K, epoch 1"
cp $out/k/tiny_last.weights $out/k1.weights
$FER classifier train tests/cfg/tiny.cfg $B -backup $out/k -stop-after 1 || fail "run K, epoch 2"
mv $out/k/tiny_last.weights $out/k/tiny_last.weights.next && cp $out/k1.weights $out/k/tiny_last.weights
$FER classifier train tests/cfg/tiny.cfg -limit 8192 -limit-valid 512 -seed 7 -threads 2 -backup $out/k 2> $out/k.err ||
    fail "run K after the simulated kill: $(tail -n 3 $out/k.err)"
grep -q "completed it from" $out/k.err || fail "no roll-forward notice: $(head -n 3 $out/k.err)"
cmp $out/a/tiny_final.weights $out/k/tiny_final.weights || fail "after the roll-forward: weights differ from run A"
ok "a checkpoint interrupted between state and weights completes by itself (bit-identical)"
# 5e. mixup, CutMix and class-balanced sampling: a run differs from the
# plain one of the same seed, and, interrupted mid-epoch and resumed, ends
# bit-identical to itself
M="-limit 1024 -limit-valid 128 -epochs 2 -seed 3 -threads 2 -quiet"
$FER classifier train tests/cfg/tiny.cfg $M -backup $out/mix0 || fail "run mix0"
for mix in "mixup=1 mixup_alpha=0.4" "cutmix=1 mix_prob=0.8" "cutmix=1 cutmix_alpha=1 mixup=1" "class_balance=1" \
    "class_balance=0.5 mixup=1"; do
    name=mix_$(echo $mix | tr ' =.' '___')
    printf '[net]\n%s\n' "$mix" | tr ' ' '\n' > $out/keys.txt
    sed "/^\[net\]$/{r $out/keys.txt
d}" tests/cfg/tiny.cfg > $out/$name.cfg
    grep -q "^${mix%% *}$" $out/$name.cfg || fail "$name.cfg: the keys were not inserted"
    $FER classifier train $out/$name.cfg $M -backup $out/$name > $out/$name.txt 2>&1 || fail "$mix: $(cat $out/$name.txt)"
    grep -q "unused\|warning" $out/$name.txt && fail "$mix: $(cat $out/$name.txt)"
    ! cmp -s $out/mix0/tiny_final.weights $out/$name/${name}_final.weights || fail "$mix changed nothing"
    $FER classifier train $out/$name.cfg $M -backup $out/${name}_r -signal-at 40 2> /dev/null || fail "$mix: SIGINT"
    $FER classifier train $out/$name.cfg $M -backup $out/${name}_r || fail "$mix: resume"
    cmp $out/$name/${name}_final.weights $out/${name}_r/${name}_final.weights || fail "$mix: resumed run differs"
done
ok "mixup, CutMix, class_balance: change the run; resumed mid-epoch, bit-identical"
$FER classifier train $out/mix_class_balance_1.cfg -limit 1024 -limit-valid 128 -epochs 1 -seed 3 -threads 2 \
    -backup $out/cb_notice > $out/cb_notice.txt 2>&1 || fail "class_balance=1: $(cat $out/cb_notice.txt)"
grep -q "class_balance=1: each epoch draws 1024 images with replacement" $out/cb_notice.txt ||
    fail "no class_balance notice: $(head -n 5 $out/cb_notice.txt)"
ok "class_balance=1: the notice gives the classes' shares"
$FER classifier train tests/cfg/tiny.cfg -limit 256 -epochs 1 -backup /sys/kernel > $out/ro.txt 2>&1 &&
    fail "training into an unwritable backup folder started"
grep -q "cannot write in the backup folder" $out/ro.txt || fail "unwritable backup: $(cat $out/ro.txt)"
ok "an unwritable backup folder is refused before the first update"

# 6. bad input: wrong weights for the cfg, missing data
$FER classifier valid cfg/shallow.cfg $out/a/tiny_final.weights > $out/bad.txt 2>&1 && fail "valid with wrong weights must fail"
grep -q "tiny_final.weights" $out/bad.txt || fail "error names the weights file"
# weights of cfg/shallow.cfg for an edited copy (first layer 64 -> 32
# filters, then a second edit at layer 3): the cfg they were made for, the
# first layer that differs, and the fer partial / -clear way to fine-tune
sed '0,/filters=64/s//filters=32/' cfg/shallow.cfg > $out/shallow32.cfg
$FER classifier train $out/shallow32.cfg weights/shallow.weights -limit 64 -epochs 1 -backup $out/m > $out/m.txt 2>&1 &&
    fail "training an edited cfg from another cfg's weights must fail"
grep -q "holds the weights of cfg/shallow.cfg.*differ from the first layer on (convolutional" $out/m.txt ||
    fail "edited first layer: $(cat $out/m.txt)"
sed '0,/filters=128/s//filters=96/' cfg/shallow.cfg > $out/shallow96.cfg
$FER classifier valid $out/shallow96.cfg weights/shallow.weights > $out/m2.txt 2>&1 && fail "valid with another cfg's weights"
grep -q "first differ at layer 3 (convolutional.*fer partial cfg/shallow.cfg weights/shallow.weights first.weights 3, then fer classifier train .* first.weights -clear" $out/m2.txt ||
    fail "edited layer 3: $(cat $out/m2.txt)"
ok "mismatched weights rejected; another cfg's weights name the first layer that differs and how to fine-tune"
# 7. divergence: a NaN/Inf loss stops with a clear message, the checkpoint is untouched
sed 's/^learning_rate=.*/learning_rate=1e30/; s/^burn_in=.*/burn_in=0/' tests/cfg/tiny.cfg > $out/diverge.cfg
mkdir -p $out/d && cp $out/a/tiny_final.weights $out/d/diverge_last.weights.keep
cp $out/d/diverge_last.weights.keep $out/d/diverge_last.weights
$FER classifier train $out/diverge.cfg -limit 2048 -limit-valid 64 -epochs 2 -threads 2 -quiet -backup $out/d -clear \
    > $out/diverge.txt 2>&1 && fail "a diverging run must fail"
grep -q "training diverged" $out/diverge.txt || fail "divergence message: $(cat $out/diverge.txt)"
cmp -s $out/d/diverge_last.weights $out/d/diverge_last.weights.keep || fail "the last good checkpoint was changed"
ok "NaN/Inf loss stops training, checkpoint untouched"
# 7b. weights overflowed by an epoch's last update (the loss before it was
# finite): one update per epoch, a rate that sends parameters to infinity
sed 's/^learning_rate=.*/learning_rate=3e38/; s/^burn_in=.*/burn_in=0/; s/^subdivisions=.*/subdivisions=1/' \
    tests/cfg/tiny.cfg > $out/overflow.cfg
$FER classifier train $out/overflow.cfg -limit 32 -limit-valid 64 -epochs 2 -threads 2 -quiet -backup $out/o \
    > $out/overflow.txt 2>&1 && fail "a run whose weights overflow must fail"
grep -q "after epoch 1: training diverged" $out/overflow.txt || fail "overflow message: $(cat $out/overflow.txt)"
[ ! -e $out/o/overflow_last.weights ] || fail "non-finite weights were checkpointed"
ok "non-finite weights after an epoch are never checkpointed"

# 7c. Darknet's max_batches instead of epochs: 5 updates of 32 over 4 updates
# per epoch are 2 epochs (the second cut short) and 160 images seen (the
# weights header: major, minor, revision, then seen as 64 bits)
sed 's/^epochs=.*/max_batches=5/' tests/cfg/tiny.cfg > $out/mb.cfg
$FER classifier train $out/mb.cfg -limit 128 -limit-valid 32 -seed 1 -threads 2 -quiet -backup $out/mb \
    || fail "max_batches run"
[ "$(wc -l < $out/mb/mb.log.csv)" -eq 3 ] || fail "max_batches=5: expected 2 epochs: $(cat $out/mb/mb.log.csv)"
seen=$(od -A n -t u4 -j 12 -N 8 $out/mb/mb_final.weights | tr -s ' ')
[ "$seen" = " 160 0" ] || fail "max_batches=5: seen is '$seen', expected 160 (5 updates of 32)"
ok "max_batches=5 trains exactly 5 updates"

# 8. early stopping: with every layer frozen nothing changes, so patience=1 stops after epoch 2
sed 's/^\[net\]/[net]\npatience=1/; s/^\[convolutional\]/[convolutional]\nfreeze=1/; s/^\[connected\]/[connected]\nfreeze=1/' \
    tests/cfg/tiny.cfg > $out/patience.cfg
$FER classifier train $out/patience.cfg -limit 512 -limit-valid 128 -epochs 6 -threads 2 -backup $out/p > $out/patience.txt 2>&1 \
    || fail "patience run"
grep -q "early stop" $out/patience.txt || fail "no early stop message"
[ "$(wc -l < $out/p/patience.log.csv)" -eq 3 ] || fail "early stop should end after 2 epochs"
ok "early stopping after patience epochs"

# 9. a warm restart: -clear starts a new schedule from the given weights and
# -lr replaces [net] learning_rate (0.02 in tiny.cfg): halfway through a
# 2-epoch cosine the rate is 0.005/2, not 0.02/2
$FER classifier train tests/cfg/tiny.cfg $out/a/tiny_final.weights -clear -lr 0.005 -epochs 2 -stop-after 1 \
    -limit 1024 -limit-valid 64 -seed 7 -threads 2 -backup $out/w > $out/warm.txt 2>&1 || fail "warm restart: $(cat $out/warm.txt)"
# a whole weights file (its last layer, [softmax], has no parameters) is not a partial one
grep -q "loaded the first" $out/warm.txt && fail "a full weights file was reported as partial: $(grep 'loaded the first' $out/warm.txt)"
lr=$(awk -F, 'NR == 2 { print $6 }' $out/w/tiny.log.csv)
awk -v lr="$lr" 'BEGIN { exit !(lr > 0.002 && lr < 0.003) }' || fail "-lr 0.005: the rate after epoch 1 of 2 is $lr, expected ~0.0025"
ok "-clear -lr: a warm restart at a new rate (lr after epoch 1 of 2: $lr)"
for bad in nan inf 0 -1 abc 1e-3x; do
    $FER classifier train tests/cfg/tiny.cfg -lr $bad -limit 512 -quiet -backup $out/w > $out/badlr.txt 2>&1
    [ $? -eq 2 ] && grep -q -- "-lr $bad" $out/badlr.txt || fail "-lr $bad was not refused: $(cat $out/badlr.txt)"
done
ok "-lr nan/inf/0/-1/abc/1e-3x refused"

# 10. fer convert: half precision and back; half the bytes, the same predictions
$FER convert tests/cfg/tiny.cfg $out/a/tiny_final.weights $out/half.weights -half > /dev/null || fail "convert -half"
$FER convert tests/cfg/tiny.cfg $out/half.weights $out/back.weights > /dev/null || fail "convert back"
full=$(stat -c %s $out/a/tiny_final.weights); half=$(stat -c %s $out/half.weights)
[ $(( (full - 20) / 2 + 20 )) -eq $half ] || fail "half file is $half bytes for a $full-byte file"
[ "$(stat -c %s $out/back.weights)" -eq $full ] || fail "converted back to $(stat -c %s $out/back.weights) bytes"
a1=$($FER classifier valid tests/cfg/tiny.cfg $out/a/tiny_final.weights -threads 2 | tail -1)
a2=$($FER classifier valid tests/cfg/tiny.cfg $out/half.weights -threads 2 | tail -1)
echo "  accuracy float32: $a1, half: $a2"
awk -v x="${a1#accuracy: }" -v y="${a2#accuracy: }" 'BEGIN { d = x - y; exit !(d < 0.003 && d > -0.003) }' \
    || fail "half weights changed the accuracy: $a1 vs $a2"
ok "fer convert -half: $half of $full bytes, $a2 vs $a1"
# 11. fer average: a one-file average without re-estimation is the file; two
# files average; batch-norm statistics re-estimated on training images keep
# the network working; bad arguments fail with a message
$FER average tests/cfg/tiny.cfg $out/one.weights $out/a/tiny_final.weights -bn 0 > /dev/null || fail "average of one"
cmp $out/one.weights $out/a/tiny_final.weights || fail "an average of one file differs from it"
$FER average tests/cfg/tiny.cfg $out/two.weights $out/a/tiny_final.weights $out/c/tiny_last.weights -bn 0 > /dev/null \
    || fail "average of two"
[ "$(stat -c %s $out/two.weights)" -eq $full ] || fail "averaged file is $(stat -c %s $out/two.weights) bytes"
$FER average tests/cfg/tiny.cfg $out/bn.weights $out/a/tiny_final.weights -bn 4096 -threads 2 > $out/avg.txt \
    || fail "average with batch-norm re-estimation"
grep -q "mean over 256 training batches of 16 images" $out/avg.txt || fail "re-estimation summary: $(cat $out/avg.txt)"
a3=$($FER classifier valid tests/cfg/tiny.cfg $out/bn.weights -threads 2 | tail -1)
echo "  accuracy as trained: $a1, statistics re-estimated: $a3"
awk -v x="${a1#accuracy: }" -v y="${a3#accuracy: }" 'BEGIN { exit !(y > 0.33 && y > x - 0.03) }' \
    || fail "re-estimated statistics broke the network: $a3 vs $a1"
$FER average cfg/shallow.cfg $out/x.weights $out/a/tiny_final.weights -bn 0 > $out/bad.txt 2>&1 && fail "average with wrong weights"
grep -q "tiny_final.weights" $out/bad.txt || fail "average: error names the weights file: $(cat $out/bad.txt)"
[ ! -e $out/x.weights ] || fail "a failed average wrote its output"
$FER average tests/cfg/tiny.cfg $out/x.weights $out/a/tiny_final.weights -bn -3 > $out/bad.txt 2>&1 && fail "-bn -3 accepted"
grep -q "\-bn -3" $out/bad.txt || fail "-bn -3: $(cat $out/bad.txt)"
ok "fer average: identity, two files, batch-norm re-estimation ($a3), bad input refused"
# 12. -bn-final: _final gets re-estimated batch-norm statistics, _last stays as
# trained (equal to run A's final weights, the same run without the flag), the
# printed accuracy is what `classifier valid` measures on _final, and a run
# stopped after epoch 1 and resumed ends with the same _final
$FER classifier train tests/cfg/tiny.cfg -limit 8192 -limit-valid 512 -seed 7 -threads 2 -backup $out/fb -bn-final \
    2> $out/bnf.txt || fail "training with -bn-final: $(tail -3 $out/bnf.txt)"
line=$(grep "batch-norm statistics re-estimated" $out/bnf.txt)
echo "  $line"
echo "$line" | grep -q "over 512 training batches of 16 (test-time views): val acc 0\.[0-9]* as trained, 0\.[0-9]* re-estimated" \
    || fail "-bn-final summary: $(tail -3 $out/bnf.txt)"
cmp $out/fb/tiny_last.weights $out/a/tiny_final.weights || fail "-bn-final changed the training itself"
! cmp -s $out/fb/tiny_final.weights $out/fb/tiny_last.weights || fail "-bn-final: _final equals _last"
want=$(echo "$line" | sed -n 's/.* as trained, \(0\.[0-9]*\) re-estimated$/\1/p')
got=$($FER classifier valid tests/cfg/tiny.cfg $out/fb/tiny_final.weights -limit 512 -threads 2 | tail -1)
[ "$got" = "accuracy: $want" ] || fail "-bn-final printed $want but classifier valid measures '$got'"
$FER classifier train tests/cfg/tiny.cfg -limit 8192 -limit-valid 512 -seed 7 -threads 2 -quiet -backup $out/h -bn-final \
    -stop-after 1 || fail "-bn-final run, part 1"
$FER classifier train tests/cfg/tiny.cfg $out/h/tiny_last.weights -limit 8192 -limit-valid 512 -seed 7 -threads 2 -quiet \
    -backup $out/h -bn-final || fail "-bn-final run, resumed"
cmp $out/fb/tiny_final.weights $out/h/tiny_final.weights || fail "-bn-final: the resumed run's _final differs"
ok "-bn-final: re-estimated _final ($want), _last as trained, resumable"
# 13. -bn-eval: each epoch is validated and saved with re-estimated
# statistics (the logged accuracy is what `classifier valid` measures on the
# epoch's file); the weights train as without it (re-estimating both runs'
# statistics the same way gives the same file); SIGINT-resumed, bit-identical
E="-limit 1024 -limit-valid 128 -epochs 2 -seed 3 -threads 2"
$FER classifier train tests/cfg/tiny.cfg $E -backup $out/be -bn-eval 8 -keep-epochs > $out/be.txt 2>&1 ||
    fail "-bn-eval: $(tail -3 $out/be.txt)"
grep -q -e "-bn-eval 8: each epoch is validated and saved (_last, _best, the epoch files) with batch-norm statistics re-estimated over 8 training batches of 16" \
    $out/be.txt || fail "-bn-eval notice: $(head -5 $out/be.txt)"
! cmp -s $out/be/tiny_last.weights $out/mix0/tiny_last.weights || fail "-bn-eval left the statistics as trained"
for run in be mix0; do
    $FER average tests/cfg/tiny.cfg $out/${run}_re.weights $out/$run/tiny_last.weights -bn 512 -seed 5 -threads 2 \
        > /dev/null || fail "re-estimating $run"
done
cmp $out/be_re.weights $out/mix0_re.weights || fail "-bn-eval changed the weights' training"
want=$(sed -n 's/^epoch 2\/2: .* val loss [0-9.]* acc \(0\.[0-9]*\).*/\1/p' $out/be.txt)
got=$($FER classifier valid tests/cfg/tiny.cfg $out/be/tiny_epoch2.weights -limit 128 -threads 2 | tail -1)
[ -n "$want" ] && [ "$got" = "accuracy: $want" ] || fail "-bn-eval logged '$want' but the epoch file measures '$got'"
$FER classifier train tests/cfg/tiny.cfg $E -quiet -backup $out/be_r -bn-eval 8 -signal-at 40 2> /dev/null ||
    fail "-bn-eval: SIGINT"
$FER classifier train tests/cfg/tiny.cfg $E -quiet -backup $out/be_r -bn-eval 8 || fail "-bn-eval: resume"
cmp $out/be/tiny_final.weights $out/be_r/tiny_final.weights || fail "-bn-eval: the resumed run differs"
# dropout ahead of a batch norm: the re-estimate's masks come from the seed,
# so a run stopped on an epoch's last update (32 of 32) and resumed
# re-estimates as the uninterrupted run did
awk '/^\[convolutional\]$/ && ++n == 2 { print "[dropout]\nprobability=0.3\n" } { print }' tests/cfg/tiny.cfg \
    > $out/tiny_drop.cfg
[ "$(grep -c '^\[dropout\]' $out/tiny_drop.cfg)" = 2 ] || fail "tiny_drop.cfg: no dropout inserted"
$FER classifier train $out/tiny_drop.cfg $E -quiet -backup $out/bd -bn-eval 8 || fail "-bn-eval, dropout"
$FER classifier train $out/tiny_drop.cfg $E -quiet -backup $out/bd_r -bn-eval 8 -signal-at 32 2> /dev/null ||
    fail "-bn-eval, dropout: SIGINT at the epoch's end"
$FER classifier train $out/tiny_drop.cfg $E -quiet -backup $out/bd_r -bn-eval 8 || fail "-bn-eval, dropout: resume"
[ "$(cut -d, -f1-6 $out/bd/tiny_drop.log.csv)" = "$(cut -d, -f1-6 $out/bd_r/tiny_drop.log.csv)" ] ||
    fail "-bn-eval, dropout: the resumed run logged other numbers: $(paste -d' ' $out/bd/tiny_drop.log.csv $out/bd_r/tiny_drop.log.csv)"
cmp $out/bd/tiny_drop_final.weights $out/bd_r/tiny_drop_final.weights || fail "-bn-eval, dropout: the resumed run differs"
ok "-bn-eval: validated with re-estimated statistics ($want), weights as without it, resumable (at an epoch's end, dropout before batch norm too)"
# 14. classifier select: each candidate's accuracy is what `classifier valid`
# measures, a mean is `fer average`'s file (-o writes it), the choice follows
# the rule (most accurate; tie: fewer files, then the later), the test split
# is never read, bad input is refused with a message
A=$out/a
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch3.weights $A/tiny_final.weights $A/tiny_epoch1.weights \
    $A/tiny_epoch2.weights -mean 2,3 -bn 4096 -limit 512 -threads 2 -o $out/sel.weights > $out/sel.txt ||
    fail "select: $(tail -3 $out/sel.txt)"
[ "$(awk '$2 == 1 { print $1 }' $out/sel.txt | tr '\n' ' ')" = "$A/tiny_epoch1.weights $A/tiny_epoch2.weights $A/tiny_epoch3.weights $A/tiny_final.weights " ] ||
    fail "select: candidates not in epoch order: $(cat $out/sel.txt)"
for f in $A/tiny_epoch1.weights $A/tiny_final.weights; do
    got=$(awk -v f=$f '$1 == f { print "accuracy: " $3 }' $out/sel.txt)
    want=$($FER classifier valid tests/cfg/tiny.cfg $f -limit 512 -threads 2 | tail -1)
    [ "$got" = "$want" ] || fail "select scored $f '$got', classifier valid '$want'"
done
$FER average tests/cfg/tiny.cfg $out/avg3.weights $A/tiny_epoch1.weights $A/tiny_epoch2.weights $A/tiny_epoch3.weights \
    -bn 4096 -threads 2 > /dev/null || fail "average of three"
got=$(awk '/^mean of the last 3 epoch files \(1-3\)/ { print "accuracy: " $(NF - 1) }' $out/sel.txt)
want=$($FER classifier valid tests/cfg/tiny.cfg $out/avg3.weights -limit 512 -threads 2 | tail -1)
[ "$got" = "$want" ] || fail "select scored the mean of 3 '$got', fer average + valid '$want'"
best=$(awk '/^candidate/ { go = 1; next } go && /^chosen/ { exit } go { acc = $(NF - 1); n = $(NF - 2);
    if (acc > b || (acc == b && n < bn) || (acc == b && n == bn)) { b = acc; bn = n; $(NF) = ""; $(NF - 1) = ""; $(NF - 2) = ""; w = $0 } }
    END { sub(/ +$/, "", w); print w }' $out/sel.txt)
grep -qF "chosen: $best, accuracy" $out/sel.txt || fail "select chose otherwise than the rule ($best): $(tail -2 $out/sel.txt)"
chosen=$(sed -n 's/^chosen: .*, accuracy \([0-9.]*\)$/\1/p' $out/sel.txt)
want=$($FER classifier valid tests/cfg/tiny.cfg $out/sel.weights -limit 512 -threads 2 | tail -1)
[ -n "$chosen" ] && [ "accuracy: $chosen" = "$want" ] || fail "select -o: $out/sel.weights measures '$want', chosen $chosen"
case "$best" in
    "mean of the last 3"*) cmp $out/sel.weights $out/avg3.weights || fail "select -o: not the mean it chose" ;;
    /*) cmp $out/sel.weights "$best" || fail "select -o: not the file it chose ($best)" ;;
esac
# ties: epoch 3 and _final are one file; a mean of copies of one file
# without re-estimation is that file
mkdir -p $out/tie && for n in 1 2; do cp $A/tiny_epoch2.weights $out/tie/t_epoch$n.weights; done
$FER classifier select tests/cfg/tiny.cfg $A/tiny_final.weights $A/tiny_epoch3.weights -limit 256 -threads 2 \
    -o $out/tie1.weights > $out/tie1.txt || fail "select, tie"
grep -q "^chosen: $A/tiny_final.weights," $out/tie1.txt || fail "a tie goes to the later file: $(tail -1 $out/tie1.txt)"
cmp $out/tie1.weights $A/tiny_final.weights || fail "select -o: a chosen file is not written as it was"
$FER classifier select tests/cfg/tiny.cfg $out/tie/t_epoch2.weights $out/tie/t_epoch1.weights -mean 2 -bn 0 -limit 256 \
    -threads 2 > $out/tie2.txt || fail "select, tie with a mean"
[ "$(awk '$2 ~ /^[12]$/ && NF == 4 || /^mean of/ { print $(NF - 1) }' $out/tie2.txt | sort -u | wc -l)" = 1 ] &&
    [ "$(grep -c '^mean of the last 2' $out/tie2.txt)" = 1 ] &&
    grep -q "^chosen: $out/tie/t_epoch2.weights," $out/tie2.txt ||
    fail "a tie goes to fewer files, then the later epoch: $(cat $out/tie2.txt)"
# the test split is never read: a .data whose test file is missing works
sed 's#^test *=.*#test = /nonexistent/test.csv#' data/fer2013.data > $out/notest.data
$FER classifier select $out/notest.data tests/cfg/tiny.cfg $A/tiny_epoch1.weights -limit 64 -threads 2 > /dev/null ||
    fail "select read the test split"
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch1.weights $A/tiny_epoch2.weights -mean 3 > $out/bad.txt 2>&1 &&
    fail "-mean 3 over 2 epoch files accepted"
grep -q "the last 3 epoch files, but 2 were given" $out/bad.txt || fail "-mean 3: $(cat $out/bad.txt)"
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch1.weights $A/tiny_epoch1.weights > $out/bad.txt 2>&1 &&
    fail "a file given twice accepted"
grep -q "tiny_epoch1.weights: given twice" $out/bad.txt || fail "given twice: $(cat $out/bad.txt)"
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch1.weights $out/tie/t_epoch1.weights > $out/bad.txt 2>&1 &&
    fail "two files of one epoch accepted"
grep -q "two files of epoch 1" $out/bad.txt || fail "two files of one epoch: $(cat $out/bad.txt)"
$FER classifier select cfg/shallow.cfg $A/tiny_epoch1.weights -limit 64 > $out/bad.txt 2>&1 && fail "select: wrong weights"
grep -q "tiny_epoch1.weights" $out/bad.txt || fail "select: the error names the weights file: $(cat $out/bad.txt)"
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch1.weights -mean 2,x > $out/bad.txt 2>&1 && fail "-mean 2,x accepted"
grep -q "\-mean 2,x: expected" $out/bad.txt || fail "-mean 2,x: $(cat $out/bad.txt)"
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch1.weights $A/tiny_epoch2.weights -mean 2,2 > $out/bad.txt 2>&1 &&
    fail "-mean 2,2 accepted"
grep -q "\-mean 2,2: 2 given twice" $out/bad.txt || fail "-mean 2,2: $(cat $out/bad.txt)"
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch1.weights $A/tiny_epoch2.weights -mean 2 -bn 1 > $out/bad.txt 2>&1 &&
    fail "-bn 1 accepted"
grep -q "\-bn 1: batch-norm statistics need 2 or more images" $out/bad.txt || fail "-bn 1: $(cat $out/bad.txt)"
# an unwritable -o or a bad file fails before any candidate is scored
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch1.weights -o /nonexistent/x.weights > $out/bad.txt 2>&1 &&
    fail "an unwritable -o accepted"
grep -q "\-o /nonexistent/x.weights: cannot write there" $out/bad.txt && ! grep -q "^candidate" $out/bad.txt ||
    fail "unwritable -o: $(cat $out/bad.txt)"
head -c 100 $A/tiny_epoch1.weights > $out/tie/short_epoch9.weights
$FER classifier select tests/cfg/tiny.cfg $A/tiny_epoch1.weights $out/tie/short_epoch9.weights > $out/bad.txt 2>&1 &&
    fail "a truncated weights file accepted"
grep -q "short_epoch9.weights" $out/bad.txt && ! grep -q "^candidate" $out/bad.txt ||
    fail "a truncated file: $(cat $out/bad.txt)"
ok "classifier select: scores as valid does, means as fer average, the rule's choice ($best), ties, no test split, bad input"
echo "e2e_train: $pass passed, 0 failed"
