#!/bin/sh
# e2e_oldcpu.sh - this build's ./fer on x86-64 CPUs older than the one it was
# built on, emulated by qemu-user: `-cpu qemu64` (SSE2, no AVX) and `-cpu
# Haswell` (AVX2 and FMA, no AVX-512). The binary must pick the best kernel
# set that CPU has at start-up (scalar, then avx2), never execute an
# instruction it lacks (qemu stops the program on one), refuse -isa and
# -bf16 choices the CPU cannot run with a message, and compute exactly what
# the same kernel set computes on this machine (`-isa scalar`, `-isa avx2`;
# weights files bit for bit, outputs to the 6-7 digits they are printed to):
# training on synthetic faces, predict -json, mini_xception on 64 FER-2013
# faces when data/fer2013.csv is there, and the demo (the face detector,
# whose scan follows the kernel set, and the default model) on a clip.
# Needs qemu-user (qemu-x86_64) on an x86-64 machine; skips otherwise.
. tests/e2e/lib.sh
case $(uname -m) in x86_64) ;; *) skip "not an x86-64 machine" ;; esac
command -v qemu-x86_64 > /dev/null 2>&1 || skip "qemu-x86_64 is absent (apt-get install qemu-user)"
out=tests/out/e2e_oldcpu
rm -rf $out && mkdir -p $out
native=$($FER bench tests/cfg/tiny.cfg -iters 1 -batch 2 -threads 1 | sed -n 's/^isa: //p')
synthetic_data $out smoke
synthetic_cfg $out/tiny.cfg 2
first_face $out/faces.csv $out/face.pgm

# a 2-frame clip of the two-people sample for the demo (needs tool_mkclip
# built with JPEG support and the Haar cascade; the demo part is left out
# without them)
[ -x $BUILD/tests/tool_mkclip ] && $BUILD/tests/tool_mkclip data/samples/two_people.jpg $out/clip.y4m 2 > /dev/null 2>&1 ||
    { rm -f $out/clip.y4m; echo "not run: the demo (no $BUILD/tests/tool_mkclip with JPEG support)"; }

# cpu model, the kernel set it must get, the set it must refuse
for spec in "qemu64 scalar avx2" "Haswell avx2 avx512"; do
    set -- $spec
    cpu=$1 isa=$2 lacks=$3
    Q="timeout 900 qemu-x86_64 -cpu $cpu"
    got=$($Q $FER bench tests/cfg/tiny.cfg -iters 1 -batch 2 -threads 1 2> $out/$cpu.bench.err | sed -n 's/^isa: //p')
    if [ "$got" != "$isa" ] && grep -Eq "TCG doesn't support requested feature: .*\.(avx2|fma) " $out/$cpu.bench.err; then
        echo "not run: -cpu $cpu (this qemu does not emulate AVX2; 7.2 and later do)"
        continue
    fi
    [ "$got" = "$isa" ] || { cat $out/$cpu.bench.err; fail "-cpu $cpu: the kernel set chosen is '$got', expected $isa"; }
    $Q $FER net $out/tiny.cfg -isa $lacks > $out/$cpu.isa.txt 2>&1 && fail "-cpu $cpu: -isa $lacks accepted"
    grep -q "does not support $lacks" $out/$cpu.isa.txt || { cat $out/$cpu.isa.txt; fail "-cpu $cpu: -isa $lacks: no clear message"; }
    $Q $FER net $out/tiny.cfg -bf16 > $out/$cpu.bf16.txt 2>&1 && fail "-cpu $cpu: -bf16 accepted"
    grep -q "bf16 needs a CPU with AVX512_BF16" $out/$cpu.bf16.txt || { cat $out/$cpu.bf16.txt; fail "-cpu $cpu: -bf16: no clear message"; }
    ok "-cpu $cpu: kernel set $isa chosen; -isa $lacks and -bf16 refused with a message"

    # the same kernel set here, when this machine has it
    case "$isa:$native" in scalar:* | avx2:avx2 | avx2:avx512) ;; *) echo "not compared: this machine has no $isa"; continue ;; esac
    $Q $FER classifier train $out/smoke.data $out/tiny.cfg -seed 5 -threads 2 -quiet -backup $out/$cpu \
        > $out/$cpu.train.txt 2>&1 || { cat $out/$cpu.train.txt; fail "-cpu $cpu: training"; }
    $FER classifier train $out/smoke.data $out/tiny.cfg -seed 5 -threads 2 -isa $isa -quiet -backup $out/here_$isa \
        > $out/here_$isa.train.txt 2>&1 || { cat $out/here_$isa.train.txt; fail "training here with -isa $isa"; }
    cmp $out/$cpu/tiny_final.weights $out/here_$isa/tiny_final.weights ||
        fail "-cpu $cpu and -isa $isa here trained different weights"
    w=$out/$cpu/tiny_final.weights
    $Q $FER classifier predict $out/smoke.data $out/tiny.cfg $w $out/face.pgm -json > $out/$cpu.json 2> /dev/null ||
        fail "-cpu $cpu: predict"
    $FER classifier predict $out/smoke.data $out/tiny.cfg $w $out/face.pgm -json -isa $isa > $out/here_$isa.json 2> /dev/null ||
        fail "predict here with -isa $isa"
    grep -q '"label": "top"' $out/$cpu.json || { cat $out/$cpu.json; fail "-cpu $cpu: predict: expected the label top"; }
    cmp $out/$cpu.json $out/here_$isa.json || fail "-cpu $cpu: predict -json differs from -isa $isa here"
    what="training and predict"
    if [ -s data/fer2013.csv ]; then
        m="cfg/mini_xception.cfg weights/mini_xception.weights"
        $Q $FER ensemble $m -limit 64 -threads 2 -o $out/$cpu.csv > $out/$cpu.ens.txt 2>&1 ||
            { cat $out/$cpu.ens.txt; fail "-cpu $cpu: mini_xception"; }
        $FER ensemble $m -limit 64 -threads 2 -isa $isa -o $out/here_$isa.csv > /dev/null 2>&1 ||
            fail "mini_xception here with -isa $isa"
        [ "$(wc -l < $out/$cpu.csv)" -eq 65 ] || fail "-cpu $cpu: expected 64 rows of probabilities"
        cmp $out/$cpu.csv $out/here_$isa.csv || fail "-cpu $cpu: mini_xception's probabilities differ from -isa $isa here"
        what="$what, mini_xception on 64 PublicTest faces"
    fi
    if [ -s $out/clip.y4m ] && $FER demo -i $out/clip.y4m -json -isa $isa -threads 2 > $out/here_$isa.demo 2> /dev/null; then
        $Q $FER demo -i $out/clip.y4m -json -threads 2 > $out/$cpu.demo 2> $out/$cpu.demo.err ||
            { cat $out/$cpu.demo.err; fail "-cpu $cpu: the demo"; }
        for f in $cpu here_$isa; do sed 's/, "ms": {[^}]*}, "fps": [0-9.]*//' $out/$f.demo > $out/$f.demo.cmp; done
        grep -q '"id": 2' $out/$cpu.demo.cmp || { cat $out/$cpu.demo; fail "-cpu $cpu: the demo found fewer than two faces"; }
        cmp $out/$cpu.demo.cmp $out/here_$isa.demo.cmp || fail "-cpu $cpu: the demo's faces and emotions differ from -isa $isa here"
        what="$what, the demo (detector and default model) on two frames"
    fi
    ok "-cpu $cpu: $what identical to -isa $isa on this machine"
done
echo "$pass passed"
