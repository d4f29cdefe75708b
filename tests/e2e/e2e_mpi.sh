#!/bin/sh
# e2e_mpi.sh - data-parallel training under mpirun (make MPI=1, issue 24),
# on the synthetic faces of e2e_smoke.sh: 2 ranks train the weights of one
# process at the same global batch (without batch norm; with batch norm and
# -sync-bn; per-rank batch norm close), one checkpoint written by rank 0, a
# 2-rank run resumed with 1 and with 2 ranks equals an uninterrupted one,
# and so do a run with mixup (also with a teacher network, -teacher-net)
# and one with class_balance and -bn-eval,
# SIGINT to one rank stops all with one checkpoint, SIGKILL of one rank
# ends the other with a message, and the MPI-less fer refuses mpirun -np 2.
# Skips when mpicc or mpirun is absent.
. tests/e2e/lib.sh
command -v mpicc > /dev/null && command -v mpirun > /dev/null || skip "mpicc/mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"
make -s MPI=1 > /dev/null 2>&1 || fail "make MPI=1"
MFER=build-mpi/fer
WDIFF=$BUILD/tests/tool_wdiff
[ -x $WDIFF ] || make -s $WDIFF > /dev/null || fail "make $WDIFF"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
RUN="mpirun --oversubscribe -np"
out=tests/out/e2e_mpi
rm -rf $out && mkdir -p $out
synthetic_data $out m
T="-threads 1 -quiet -seed 5"

# same: DIR_A DIR_B NAME WHAT - final weights within 1e-4 relative
same() {
    r=$($WDIFF $1/$3_final.weights $2/$3_final.weights) || fail "$4: weights differ ($r)"
    ok "$4: $r"
}

# the MPI-less fer refuses to be one of several ranks
$RUN 2 $FER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T -backup $out/refuse > $out/refuse.txt 2>&1 &&
    fail "the MPI-less fer ran under mpirun -np 2"
grep -q "built without MPI" $out/refuse.txt || { cat $out/refuse.txt; fail "no 'built without MPI' message"; }
[ ! -e $out/refuse/mpi_plain_final.weights ] || fail "the MPI-less fer trained under mpirun"
ok "the MPI-less fer refuses mpirun -np 2"

# 2 ranks = 1 process (no batch norm; 4 epochs of 9 updates)
$FER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T -backup $out/one > $out/one.txt 2>&1 || fail "1 process"
$RUN 2 $MFER classifier train $out/m.data tests/cfg/mpi_plain.cfg -threads 1 -seed 5 -backup $out/two > $out/two.txt 2>&1 ||
    { cat $out/two.txt; fail "2 ranks"; }
grep -q "2 ranks x 1 thread per rank" $out/two.txt || fail "the run does not say its ranks and threads"
[ "$(grep -c '^done:' $out/two.txt)" = 1 ] || fail "rank 1 spoke too"
same $out/one $out/two mpi_plain "2 ranks vs 1 process, no batch norm, 36 updates"
cut -d, -f1-6 $out/one/mpi_plain.log.csv > $out/one.csv; cut -d, -f1-6 $out/two/mpi_plain.log.csv > $out/two.csv
cmp -s $out/one.csv $out/two.csv || { diff $out/one.csv $out/two.csv; fail "the CSV logs differ"; }
ok "the CSV logs (losses, accuracies: validation split and reduced) are those of one process"
$RUN 1 $MFER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T -backup $out/mpi1 > /dev/null 2>&1 || fail "1 rank"
same $out/one $out/mpi1 mpi_plain "the MPI build on 1 rank"
$RUN 3 $MFER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T -backup $out/three > $out/three.txt 2>&1 &&
    fail "3 ranks ran a batch of 32"
grep -q "does not divide" $out/three.txt || { cat $out/three.txt; fail "no message for batch 32 on 3 ranks"; }
ok "batch 32 on 3 ranks: refused"

# mixup: each rank draws the images mixed into the samples before its own, so
# 2 ranks still train the weights of one process
sed 's/^\[net\]$/[net]\nmixup=1\nmixup_alpha=0.4\nmix_prob=0.7/' tests/cfg/mpi_plain.cfg > $out/mpi_mix.cfg
$FER classifier train $out/m.data $out/mpi_mix.cfg $T -backup $out/mix1 > /dev/null 2>&1 || fail "mixup: 1 process"
$RUN 2 $MFER classifier train $out/m.data $out/mpi_mix.cfg $T -backup $out/mix2 > /dev/null 2>&1 || fail "mixup: 2 ranks"
! cmp -s $out/one/mpi_plain_final.weights $out/mix1/mpi_mix_final.weights || fail "mixup=1 changed nothing"
same $out/mix1 $out/mix2 mpi_mix "2 ranks vs 1 process, mixup (mix_prob 0.7, Beta(0.4, 0.4))"
# a teacher network on each rank's share of the mixed mini-batch (-teacher-net)
TN="-teacher-net tests/cfg/mpi_plain.cfg,$out/one/mpi_plain_final.weights -distill 0.7"
$FER classifier train $out/m.data $out/mpi_mix.cfg $T $TN -backup $out/tn1 > /dev/null 2>&1 || fail "-teacher-net: 1 process"
$RUN 2 $MFER classifier train $out/m.data $out/mpi_mix.cfg $T $TN -backup $out/tn2 > $out/tn2.txt 2>&1 ||
    { cat $out/tn2.txt; fail "-teacher-net: 2 ranks"; }
! cmp -s $out/mix1/mpi_mix_final.weights $out/tn1/mpi_mix_final.weights || fail "-teacher-net changed nothing"
same $out/tn1 $out/tn2 mpi_mix "2 ranks vs 1 process, mixup and a teacher network (-distill 0.7)"

# batch norm (2 subdivisions): -sync-bn = 1 process; per-rank statistics close
$FER classifier train $out/m.data tests/cfg/mpi_bn.cfg $T -backup $out/bn1 > /dev/null 2>&1 || fail "bn: 1 process"
$RUN 2 $MFER classifier train $out/m.data tests/cfg/mpi_bn.cfg $T -sync-bn -backup $out/bns > /dev/null 2>&1 ||
    fail "bn: 2 ranks -sync-bn"
same $out/bn1 $out/bns mpi_bn "2 ranks -sync-bn vs 1 process, batch norm, 2 subdivisions"
# class_balance and -bn-eval, dropout ahead of a batch norm: every rank
# draws the same balanced order and re-estimates the statistics over the
# same images with the same masks, so the weights and the per-epoch
# validation are one process's
awk '/^\[convolutional\]$/ && ++n == 2 { print "[dropout]\nprobability=0.3\n" } { print }' tests/cfg/mpi_bn.cfg \
    > $out/mpi_bd.cfg
sed 's/^\[net\]$/[net]\nclass_balance=0.5/' $out/mpi_bd.cfg > $out/mpi_cb.cfg
grep -q '^\[dropout\]' $out/mpi_cb.cfg && grep -q '^class_balance=0.5$' $out/mpi_cb.cfg || fail "mpi_cb.cfg not made"
$FER classifier train $out/m.data $out/mpi_bd.cfg $T -bn-eval 4 -backup $out/cb0 > /dev/null 2>&1 || fail "-bn-eval: 1 process"
$FER classifier train $out/m.data $out/mpi_cb.cfg $T -bn-eval 4 -backup $out/cb1 > /dev/null 2>&1 ||
    fail "class_balance, -bn-eval: 1 process"
$RUN 2 $MFER classifier train $out/m.data $out/mpi_cb.cfg $T -sync-bn -bn-eval 4 -backup $out/cb2 > /dev/null 2>&1 ||
    fail "class_balance, -bn-eval: 2 ranks"
! cmp -s $out/cb0/mpi_bd_final.weights $out/cb1/mpi_cb_final.weights || fail "class_balance=0.5 changed nothing"
same $out/cb1 $out/cb2 mpi_cb "2 ranks -sync-bn vs 1 process, class_balance=0.5, -bn-eval 4, dropout"
cut -d, -f1,4,5 $out/cb1/mpi_cb.log.csv > $out/cb1.csv; cut -d, -f1,4,5 $out/cb2/mpi_cb.log.csv > $out/cb2.csv
cmp -s $out/cb1.csv $out/cb2.csv || { paste -d' ' $out/cb1.csv $out/cb2.csv; fail "-bn-eval: 2 ranks validated otherwise"; }
ok "-bn-eval: 2 ranks log one process's validation ($(tail -n 1 $out/cb2.csv))"
$RUN 2 $MFER classifier train $out/m.data tests/cfg/mpi_bn.cfg $T -backup $out/bnp > /dev/null 2>&1 || fail "bn: per rank"
l1=$(tail -n 1 $out/bn1/mpi_bn.log.csv); lp=$(tail -n 1 $out/bnp/mpi_bn.log.csv)
echo "$l1 $lp" | awk -F'[, ]' '{ d = $4 - $11; if (d < 0) d = -d; exit !($5 - $12 < 0.05 && $12 - $5 < 0.05 && d < 0.1) }' ||
    fail "per-rank batch norm: last epoch $lp, one process $l1"
ok "per-rank batch norm: last epoch (epoch,loss,acc,vloss,vacc,...) $lp vs one process $l1"

# a checkpoint by rank 0 alone; resume a 2-rank run with 1 and with 2 ranks
$RUN 2 $MFER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T -backup $out/res2 -stop-after 2 > /dev/null 2>&1 ||
    fail "2 ranks, 2 epochs"
[ -s $out/res2/mpi_plain_last.weights ] && [ -s $out/res2/mpi_plain_last.state ] || fail "no checkpoint"
[ "$(ls $out/res2 | grep -c 'tmp')" = 0 ] || fail "leftover temporaries: $(ls $out/res2)"
cp -r $out/res2 $out/res1
$RUN 2 $MFER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T -backup $out/res2 > /dev/null 2>&1 || fail "resume, 2 ranks"
same $out/two $out/res2 mpi_plain "2 ranks, resumed with 2 ranks, vs uninterrupted"
$MFER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T -backup $out/res1 > /dev/null 2>&1 || fail "resume, 1 rank"
same $out/two $out/res1 mpi_plain "2 ranks, resumed with 1 rank, vs uninterrupted"

# SIGINT to one rank: both stop at the same update, one checkpoint, exit 0
long="-epochs 400"
$RUN 2 $MFER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T $long -backup $out/int > $out/int.txt 2>&1 &
mp=$!
ranks=""
# both ranks up and past their first epoch (so their handlers are in
# place): up to 5 minutes on a loaded machine
for i in $(seq 1500); do
    ranks=$(pgrep -f "^$MFER classifier train .*-backup $out/int" | tr '\n' ' ')
    [ $(echo $ranks | wc -w) -ge 2 ] && [ -s $out/int/mpi_plain_last.weights ] && break
    sleep 0.2
done
set -- $ranks
[ $# -ge 2 ] || { kill $mp 2> /dev/null; fail "cannot find the 2 ranks"; }
[ -s $out/int/mpi_plain_last.weights ] || { kill $mp 2> /dev/null; fail "SIGINT: no epoch ended in 5 minutes"; }
kill -INT $2
wait $mp; rc=$?
[ $rc = 0 ] || { cat $out/int.txt; fail "SIGINT to one rank: exit $rc"; }
# the signal lands mid-epoch ("interrupted: wrote ...") or, as the epochs
# are 9 updates short, in an epoch's end ("interrupted after epoch N")
grep -qE "interrupted: wrote|interrupted after epoch" $out/int.txt || { cat $out/int.txt; fail "SIGINT: no checkpoint message"; }
[ ! -e $out/int/mpi_plain_final.weights ] || fail "SIGINT: the run went on to its end"
[ "$(grep -c 'interrupted' $out/int.txt)" = 1 ] || fail "SIGINT: more than one rank reported"
ok "SIGINT to one rank: both exit 0 with one checkpoint ($(grep interrupted $out/int.txt))"

# SIGKILL of one rank: the other ends with a message (its watchdog: 20 s)
FER_MPI_TIMEOUT=20 $RUN 2 -x FER_MPI_TIMEOUT $MFER classifier train $out/m.data tests/cfg/mpi_plain.cfg $T $long \
    -backup $out/kill > $out/kill.txt 2>&1 &
mp=$!
for i in $(seq 1500); do
    ranks=$(pgrep -f "^$MFER classifier train .*-backup $out/kill" | tr '\n' ' ')
    [ $(echo $ranks | wc -w) -ge 2 ] && [ -s $out/kill/mpi_plain_last.weights ] && break
    sleep 0.2
done
set -- $ranks
[ $# -ge 2 ] || { kill $mp 2> /dev/null; fail "cannot find the 2 ranks"; }
[ -s $out/kill/mpi_plain_last.weights ] || { kill $mp 2> /dev/null; fail "SIGKILL: no epoch ended in 5 minutes"; }
start=$(date +%s)
kill -KILL $2
wait $mp; rc=$?
secs=$(( $(date +%s) - start ))
[ $rc != 0 ] || fail "SIGKILL of one rank: exit 0"
[ $secs -le 120 ] || fail "SIGKILL of one rank: the other took $secs s (FER_MPI_TIMEOUT=20)"
[ -s $out/kill.txt ] || fail "SIGKILL of one rank: no message"
ok "SIGKILL of one rank: exit $rc after $secs s: $(grep -m1 -iE 'rank|signal|died' $out/kill.txt)"
echo "$pass passed"
