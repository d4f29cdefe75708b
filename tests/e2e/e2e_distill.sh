#!/bin/sh
# e2e_distill.sh - `fer classifier train -teacher PROBS.csv -distill A` on
# the real CLI and the shared FER-2013 CSV (1,024 training faces):
#   - a teacher whose probabilities are the one-hot labels changes nothing:
#     with -distill 1 and 0.5 the weights are bit-identical to plain training;
#   - a teacher that says 'angry' for every face, at -distill 1, makes the
#     student say 'angry' for (nearly) every face: the targets come from the
#     file, row by row;
#   - malformed teacher files and arguments fail with the file and line and a
#     non-zero exit, and never start training;
#   - -teacher-net (teachers run on each mini-batch): on clean views (no
#     augmentation) it trains like -teacher with the same model's probability
#     file; a student of the always-angry student says angry too, on augmented
#     views; a run stopped and resumed is bit-identical to an uninterrupted
#     one; teachers that cannot teach the student fail before training.
. tests/e2e/lib.sh
if [ ! -s data/fer2013.csv ]; then
    echo "SKIP: data/fer2013.csv is absent (gunzip ../shared/data/fer2013/fer2013.csv.gz > data/fer2013.csv)"
    exit 77
fi
out=tests/out/e2e_distill
rm -rf $out && mkdir -p $out
ok() { echo "ok: $*"; }
N=1024
TR="-limit $N -limit-valid 256 -threads 2 -quiet"

# the teacher file's layout comes from fer ensemble itself (an untrained model is enough)
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 1 -seed 2 -backup $out/t0 || fail "teacher model"
$FER ensemble tests/cfg/tiny.cfg $out/t0/tiny_final.weights -split train -limit $N -o $out/model.csv -threads 2 \
    > $out/model.txt || fail "ensemble -split train -o"
[ "$(wc -l < $out/model.csv)" -eq $((N + 1)) ] || fail "model.csv: header + $N rows expected"
# rewrite the ens_ columns (11-17: index,true,pred, 7 m1_, 7 ens_): one-hot of the true label, or always angry
awk -F, -v OFS=, 'NR > 1 { for (k = 0; k < 7; k++) $(11 + k) = (k == $2) ? 1 : 0 } 1' $out/model.csv > $out/onehot.csv
awk -F, -v OFS=, 'NR > 1 { for (k = 0; k < 7; k++) $(11 + k) = (k == 0) ? 1 : 0 } 1' $out/model.csv > $out/angry.csv
head -n 1 $out/onehot.csv | grep -q ',ens_angry,ens_disgust,' || fail "unexpected header: $(head -n 1 $out/onehot.csv)"

# 1. one-hot teachers: bit-identical to training without one
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 2 -seed 5 -backup $out/plain || fail "plain training"
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 2 -seed 5 -backup $out/d1 -teacher $out/onehot.csv -distill 1 \
    || fail "-teacher onehot -distill 1"
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 2 -seed 5 -backup $out/d05 -teacher $out/onehot.csv \
    || fail "-teacher onehot (default -distill 0.5)"
cmp $out/plain/tiny_final.weights $out/d1/tiny_final.weights || fail "one-hot teacher, -distill 1: weights differ"
cmp $out/plain/tiny_final.weights $out/d05/tiny_final.weights || fail "one-hot teacher, -distill 0.5: weights differ"
ok "a one-hot teacher gives bit-identical weights (-distill 1 and 0.5)"

# 2. an 'always angry' teacher: the student follows it, not the labels
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 2 -seed 5 -backup $out/angry -teacher $out/angry.csv -distill 1 \
    || fail "-teacher angry"
$FER ensemble tests/cfg/tiny.cfg $out/angry/tiny_final.weights -split train -limit $N -o $out/student.csv -threads 2 \
    > $out/student.txt || fail "student predictions"
angry=$(awk -F, 'NR > 1 && $3 == 0 { n++ } END { print n + 0 }' $out/student.csv)
plain=$(awk -F, 'NR > 1 && $2 == 0 { n++ } END { print n + 0 }' $out/student.csv)
[ "$angry" -ge $((N * 9 / 10)) ] || fail "student of an always-angry teacher says angry for $angry of $N faces"
ok "an always-angry teacher: the student says angry for $angry of $N faces (the labels: $plain)"

# 3. bad teacher files and arguments
bad() {   # bad NAME FILE PATTERN [extra args]: training must fail naming FILE and matching PATTERN
    name=$1 file=$2 pattern=$3
    shift 3
    if $FER classifier train tests/cfg/tiny.cfg $TR -epochs 1 -backup $out/bad -teacher $file "$@" > $out/bad.txt 2>&1; then
        fail "$name: exit 0"
    fi
    grep -q -- "$pattern" $out/bad.txt || fail "$name: expected '$pattern' in: $(cat $out/bad.txt)"
    [ ! -e $out/bad/tiny_final.weights ] || fail "$name: training ran"
}
printf 'emotion,pixels,Usage\n' > $out/header.csv
bad "wrong header" $out/header.csv "header.csv:1: expected the header"
sed '1 s/ens_fear/ens_afraid/' $out/onehot.csv > $out/nofear.csv
bad "missing column" $out/nofear.csv "nofear.csv:1: no column ens_fear"
sed '$d' $out/onehot.csv > $out/short.csv
bad "missing row" $out/short.csv "short.csv: 1 of the $N training images have no row (the first missing is index $((N - 1)))"
awk -F, -v OFS=, 'NR == 5 { $2 = ($2 + 1) % 7 } 1' $out/onehot.csv > $out/label.csv
bad "another split's labels" $out/label.csv "label.csv:5: image 3 has true label"
awk -F, -v OFS=, 'NR == 7 { $12 = "x" } 1' $out/onehot.csv > $out/nan.csv
bad "not a number" $out/nan.csv "nan.csv:7: column ens_disgust: 'x' is not a probability"
awk -F, -v OFS=, 'NR == 9 { $11 = 0.5; $12 = 0.2; $13 = $14 = $15 = $16 = $17 = 0 } 1' $out/onehot.csv > $out/sum.csv
bad "sum is not 1" $out/sum.csv "sum.csv:9: the ens_ probabilities sum to 0.700000"
awk -F, -v OFS=, 'NR == 3 { $12 = -0.25 } 1' $out/onehot.csv > $out/neg.csv
bad "negative probability" $out/neg.csv "neg.csv:3: column ens_disgust: '-0.25' is not a probability"
awk 'NR == 4 { print $0 ",extra"; next } 1' $out/onehot.csv > $out/fields.csv
bad "extra field" $out/fields.csv "fields.csv:4: 18 fields, the header has 17"
awk 'NR == 6 { print; print } NR != 6' $out/onehot.csv > $out/twice.csv
bad "duplicate row" $out/twice.csv "twice.csv:7: image 4 appears twice"
printf 'index,true\0pred\n' > $out/nul.csv
bad "binary file" $out/nul.csv "nul.csv: not a text file (a NUL byte at offset 10)"
bad "no such file" $out/absent.csv "absent.csv"
bad "-distill 0" $out/onehot.csv "-distill 0: expected the teacher's weight in (0, 1]" -distill 0
bad "-distill 1.5" $out/onehot.csv "-distill 1.5: expected the teacher's weight in (0, 1]" -distill 1.5
bad "-distill abc" $out/onehot.csv "-distill abc: expected the teacher's weight in (0, 1]" -distill abc
if $FER classifier train tests/cfg/tiny.cfg $TR -epochs 1 -backup $out/bad -distill 0.5 > $out/bad.txt 2>&1; then
    fail "-distill without -teacher: exit 0"
fi
grep -q -- "-distill 0.5: needs -teacher" $out/bad.txt || fail "-distill without -teacher: $(cat $out/bad.txt)"
ok "bad teacher files and arguments fail with the file, line and a non-zero exit"

# 4. -teacher-net on clean views equals -teacher with the same model's probabilities (written as %.7g, so the
#    two students' weights are close, not bit-identical): the same predictions for (nearly) every face
grep -v '^flip=\|^angle=' tests/cfg/tiny.cfg > $out/clean.cfg
grep -q '^flip=' $out/clean.cfg && fail "clean.cfg still flips"
$FER ensemble $out/clean.cfg $out/t0/tiny_final.weights -split train -limit $N -o $out/t0.csv -threads 2 \
    > $out/t0.txt || fail "the teacher's probabilities"
$FER classifier train $out/clean.cfg $TR -epochs 2 -seed 5 -backup $out/off -teacher $out/t0.csv -distill 0.7 \
    || fail "-teacher t0.csv"
$FER classifier train $out/clean.cfg $TR -epochs 2 -seed 5 -backup $out/on -distill 0.7 \
    -teacher-net $out/clean.cfg,$out/t0/tiny_final.weights || fail "-teacher-net t0"
$FER classifier train $out/clean.cfg $TR -epochs 2 -seed 5 -backup $out/none || fail "clean, no teacher"
for s in off on none; do
    $FER ensemble $out/clean.cfg $out/$s/clean_final.weights -split train -limit $N -o $out/$s.csv -threads 2 \
        > $out/$s.txt || fail "predictions of $s"
done
same() { paste -d, $out/$1.csv $out/$2.csv | awk -F, -v w=$(head -n 1 $out/$1.csv | awk -F, '{ print NF }') \
    'NR > 1 && $3 == $(w + 3) { n++ } END { print n + 0 }'; }
on_off=$(same on off) none_off=$(same none off)
[ "$on_off" -ge $((N * 98 / 100)) ] || fail "-teacher-net and -teacher agree on $on_off of $N faces"
[ "$none_off" -lt "$on_off" ] || fail "no teacher agrees with -teacher as often ($none_off) as -teacher-net ($on_off)"
ok "-teacher-net on clean views trains as -teacher with its probabilities: $on_off of $N predictions agree (no teacher: $none_off)"

# 5. the always-angry student as a teacher network, on augmented views: its student says angry too
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 2 -seed 6 -backup $out/angry2 -distill 1 \
    -teacher-net tests/cfg/tiny.cfg,$out/angry/tiny_final.weights || fail "-teacher-net angry"
$FER ensemble tests/cfg/tiny.cfg $out/angry2/tiny_final.weights -split train -limit $N -o $out/student2.csv \
    -threads 2 > $out/student2.txt || fail "predictions of angry2"
angry2=$(awk -F, 'NR > 1 && $3 == 0 { n++ } END { print n + 0 }' $out/student2.csv)
[ "$angry2" -ge $((N * 9 / 10)) ] || fail "student of an always-angry teacher network says angry for $angry2 of $N"
ok "an always-angry teacher network: its student says angry for $angry2 of $N faces"

# 6. two teachers, stopped after epoch 1 and resumed: bit-identical to the uninterrupted run
TN="-teacher-net tests/cfg/tiny.cfg,$out/t0/tiny_final.weights,tests/cfg/tiny.cfg,$out/angry/tiny_final.weights"
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 2 -seed 8 -backup $out/whole $TN || fail "two teachers"
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 2 -seed 8 -backup $out/halves $TN -stop-after 1 \
    || fail "two teachers, epoch 1"
[ ! -e $out/halves/tiny_final.weights ] || fail "-stop-after 1 finished the run"
$FER classifier train tests/cfg/tiny.cfg $TR -epochs 2 -seed 8 -backup $out/halves $TN || fail "two teachers, resumed"
cmp $out/whole/tiny_final.weights $out/halves/tiny_final.weights || fail "-teacher-net: the resumed run differs"
! cmp -s $out/whole/tiny_final.weights $out/on/clean_final.weights || fail "two teachers trained as one"
ok "two teacher networks: a run stopped after epoch 1 and resumed is bit-identical to an uninterrupted one"

# 7. teachers that cannot teach this student, and bad specs: a clear error before any training
badnet() {   # badnet NAME SPEC PATTERN [extra args]
    name=$1 spec=$2 pattern=$3
    shift 3
    if $FER classifier train tests/cfg/tiny.cfg $TR -epochs 1 -backup $out/bad -teacher-net "$spec" "$@" \
        > $out/bad.txt 2>&1; then
        fail "$name: exit 0"
    fi
    grep -q -- "$pattern" $out/bad.txt || fail "$name: expected '$pattern' in: $(cat $out/bad.txt)"
    [ ! -e $out/bad/tiny_final.weights ] || fail "$name: training ran"
}
W=$out/t0/tiny_final.weights
sed 's/^width=48/width=40/; s/^height=48/height=40/' tests/cfg/tiny.cfg > $out/small.cfg
sed 's/^output=7/output=6/' tests/cfg/tiny.cfg > $out/six.cfg
grep -v '^\[softmax\]' tests/cfg/tiny.cfg > $out/logits.cfg
badnet "one field" "tests/cfg/tiny.cfg" "-teacher-net tests/cfg/tiny.cfg: expected CFG,WEIGHTS"
badnet "three fields" "tests/cfg/tiny.cfg,$W,tests/cfg/tiny.cfg" "expected CFG,WEIGHTS\[,CFG,WEIGHTS...\]"
badnet "empty field" "tests/cfg/tiny.cfg,,x,$W" "expected CFG,WEIGHTS"
badnet "no such cfg" "$out/absent.cfg,$W" "absent.cfg"
badnet "no such weights" "tests/cfg/tiny.cfg,$out/absent.weights" "absent.weights"
badnet "weights of another cfg" "tests/cfg/tiny.cfg,$out/t0.csv" "t0.csv"
badnet "another input size" "$out/small.cfg,$W" "small.cfg: the teacher takes 40x40x1 images, the student"
badnet "another class count" "$out/six.cfg,$W" "six.cfg: the teacher has 6 classes, the student"
badnet "no softmax" "$out/logits.cfg,$W" "logits.cfg: the teacher must end with \[softmax\]"
badnet "with -teacher" "tests/cfg/tiny.cfg,$W" "-teacher and -teacher-net exclude each other" -teacher $out/t0.csv
badnet "-distill 2" "tests/cfg/tiny.cfg,$W" "-distill 2: expected the teacher's weight in (0, 1]" -distill 2
ok "teacher networks that cannot teach the student, and bad specs, fail before training"
echo "PASS: e2e_distill"
