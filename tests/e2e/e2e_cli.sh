#!/bin/sh
# e2e_cli.sh - the command line itself, on the real binary:
#   - every command and sub-command `fer -h` lists answers -h and --help
#     with its usage on stdout and exit 0 (a group: every sub-command's);
#   - command-line errors exit 2 and name the word that was wrong: an
#     unknown command or sub-command, an unknown option, -threads below 1,
#     -lr, -distill, -batch out of range;
#   - every command that runs a network takes -threads N; `fer ensemble`
#     takes -out as the old name of -o;
#   - README.md's command table lists exactly the commands `fer -h` lists.
. tests/e2e/lib.sh
out=tests/out/e2e_cli
rm -rf $out && mkdir -p $out

# the commands of `fer -h`: "  name [sub]   summary" lines, two spaces or more before the summary
$FER -h > $out/help.txt || fail "fer -h: exit $?"
sed -n '/^commands:$/,/^$/p' $out/help.txt | awk -F'  +' 'NF >= 3 { print $2 }' > $out/commands.txt
[ "$(wc -l < $out/commands.txt)" -ge 10 ] || fail "fer -h lists $(wc -l < $out/commands.txt) commands: $(cat $out/help.txt)"
$FER --help | cmp -s - $out/help.txt || fail "fer --help differs from fer -h"

# 1. -h and --help, on every command and group
cut -d' ' -f1 $out/commands.txt | sort -u > $out/groups.txt
n=0
while read -r cmd; do
    for h in -h --help; do
        # shellcheck disable=SC2086
        $FER $cmd $h > $out/usage.txt 2> $out/usage.err || fail "fer $cmd $h: exit $?: $(cat $out/usage.err)"
        grep -q "^usage: fer $cmd" $out/usage.txt || fail "fer $cmd $h: no 'usage: fer $cmd' on stdout: $(head -n 3 $out/usage.txt)"
        [ -s $out/usage.err ] && fail "fer $cmd $h wrote to stderr: $(cat $out/usage.err)"
        n=$((n + 1))
    done
done < $out/commands.txt
while read -r group; do
    grep -q "^$group " $out/commands.txt || continue
    $FER "$group" -h > $out/group.txt || fail "fer $group -h: exit $?"
    grep "^$group " $out/commands.txt | while read -r g sub; do
        grep -q "^usage: fer $g $sub" $out/group.txt || fail "fer $group -h lacks the usage of $sub"
    done || exit 1
    n=$((n + 1))
done < $out/groups.txt
ok "$n -h/--help calls print their usage on stdout and exit 0"

# 2. command-line errors: exit 2, the wrong word named
bad() {   # bad "expected text" args...
    want=$1; shift
    "$FER" "$@" > $out/bad.out 2> $out/bad.err
    rc=$?
    [ $rc -eq 2 ] || fail "fer $*: exit $rc, expected 2: $(cat $out/bad.err)"
    grep -q -F -- "$want" $out/bad.err || fail "fer $*: the message lacks '$want': $(head -n 3 $out/bad.err)"
}
T=tests/cfg/tiny.cfg
bad "unknown command 'frobnicate'" frobnicate
bad "unknown command 'classifier foo'" classifier foo
bad "unknown command 'visualize foo'" visualize foo
bad "unknown command 'data foo'" data foo
bad "unknown option -bogus" net $T -bogus
bad "unknown option -bogus" classifier predict $T x.weights x.png -bogus
bad "option -threads 0" net $T -threads 0
bad "option -threads -1" net $T -threads -1
bad "option -threads x" classifier valid $T x.weights -threads x
bad "option -threads 0" demo -threads 0
bad "-lr 0: the learning rate must be a number > 0" classifier train $T -lr 0
bad "-lr abc" classifier train $T -lr abc
bad "-distill 2: expected the teacher's weight in (0, 1]" classifier train $T -teacher t.csv -distill 2
bad "-distill 0.5: needs -teacher" classifier train $T -distill 0.5
bad "option -batch 0" bench $T -batch 0
bad "option -top needs a value" classifier predict $T x.weights x.png -top
ok "errors exit 2 and name the command, option or value"

# 3. -threads on the commands that run a network; -out, the old name of ensemble's -o
[ -x "$BUILD/tests/tool_randweights" ] || fail "$BUILD/tests/tool_randweights not built"
"$BUILD/tests/tool_randweights" $T $out/tiny.weights 5 > $out/tool.log 2>&1 || fail "tool_randweights: $(cat $out/tool.log)"
printf 'P5\n48 48\n255\n' > $out/face.pgm
head -c 2304 /dev/urandom >> $out/face.pgm
$FER net $T $out/tiny.weights -threads 1 > $out/net.txt || fail "fer net -threads 1"
$FER convert $T $out/tiny.weights $out/half.weights -half -threads 2 > /dev/null || fail "fer convert -threads 2"
$FER partial $T $out/tiny.weights $out/part.weights 2 -threads 1 > /dev/null || fail "fer partial -threads 1"
$FER classifier predict $T $out/tiny.weights $out/face.pgm -json -threads 2 > $out/predict.json || fail "predict -threads 2"
$FER bench $T -batch 2 -iters 1 -threads 1 > $out/bench.txt || fail "fer bench -threads 1"
grep -q "^threads: 1$" $out/bench.txt || fail "fer bench -threads 1: $(cat $out/bench.txt)"
$FER demo $T $out/tiny.weights -i $out/face.pgm -nodetect -json -threads 1 > $out/demo.json || fail "fer demo -threads 1"
grep -- "-threads N" $out/help.txt > /dev/null || fail "fer -h does not mention -threads"
for cmd in net bench partial convert average demo ensemble report "classifier train" "classifier valid" \
    "classifier predict" "visualize confusion" "visualize saliency" "visualize gradcam" "visualize grid"; do
    # shellcheck disable=SC2086
    $FER $cmd -h | grep -q -- "-threads N (1..256" || fail "fer $cmd -h does not list -threads N"
done
if [ -r data/fer2013.data ]; then
    $FER ensemble $T $out/no_such.weights -out $out/p.csv > $out/alias.out 2> $out/alias.err && fail "ensemble with missing weights"
    grep -q "unknown option" $out/alias.err && fail "ensemble -out is not accepted: $(cat $out/alias.err)"
    grep -q "no_such.weights" $out/alias.err || fail "ensemble -out: $(cat $out/alias.err)"
fi
ok "-threads N on every command that runs a network; ensemble -out is -o"

# 4. README.md's command table (rows "| \`fer COMMAND [SUB|SUB...] ...\` |") against fer -h
sed -n 's/^| `fer \([a-z-]*\) \([^ `]*\).*/\1 \2/p' README.md | while read -r cmd word; do
    if grep -q "^$cmd " $out/commands.txt; then
        echo "$word" | sed 's/\\|/\n/g' | sed "s/^/$cmd /"
    else
        echo "$cmd"
    fi
done | sort -u > $out/readme_commands.txt
sort -u $out/commands.txt > $out/fer_commands.txt
diff $out/fer_commands.txt $out/readme_commands.txt > $out/readme.diff ||
    fail "README.md's command table and fer -h differ (< fer -h, > README): $(cat $out/readme.diff)"
ok "README.md lists the $(wc -l < $out/fer_commands.txt) commands of fer -h"
echo "e2e_cli: $pass passed"
