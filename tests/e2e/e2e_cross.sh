#!/bin/sh
# e2e_cross.sh - fer on a CPU that is not x86-64: the whole build (fer,
# libfer.a, libfer.so, examples/embed) cross-compiled for 64-bit ARM,
# without libstb, with -Werror, then run under qemu-user. There fer picks its
# NEON kernel set, whose GEMM the unit test compares with the naive one.
# With `-isa scalar` it runs the portable kernels, which must compute what
# the same kernels compute in the x86-64 build bit for bit: every operation
# is a single IEEE-754 float operation in a fixed order (fer compiles with
# -ffp-contract=off and never reassociates), so training gives identical
# weights files, and inference and the face detector identical outputs
# (printed to 6-7 significant digits), on both CPUs.
#
# Checks: the build and its CPU; test_kernels under qemu; ISA dispatch (neon
# by default; -isa avx2 and -bf16 refused with a message); a JPEG refused
# without libstb; 4 epochs of training on synthetic faces with -isa scalar,
# weights identical to the x86-64 run's, and with neon; those weights read
# back on both CPUs; predict -json; mini_xception on 64 FER-2013 faces (when data/fer2013.csv
# is there); the demo (detection, tracking, classification) on a clip of
# the two-people sample (when the Haar cascade is installed); embed.
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user; skips
# without them.
. tests/e2e/lib.sh
T=${CROSS_TRIPLET:-aarch64-linux-gnu}
command -v $T-gcc > /dev/null 2>&1 || skip "$T-gcc is absent (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
command -v qemu-aarch64 > /dev/null 2>&1 || skip "qemu-aarch64 is absent (apt-get install qemu-user)"
[ -d /usr/$T/lib ] || skip "/usr/$T/lib (the target's C library) is absent"
out=tests/out/e2e_cross
rm -rf $out && mkdir -p $out/tree
# a run under emulation that hangs fails the test instead of stalling the suite
run_arm() { timeout 900 qemu-aarch64 -L /usr/$T "$@"; }

# 1. the build: the working tree's sources only (no x86 objects or binaries)
{ git ls-files -co --exclude-standard Makefile include src examples tests/unit 2> /dev/null ||
    find Makefile include src examples tests/unit -type f ! -name embed; } | grep -v '^examples/embed$' > $out/files.txt
tar -cf - -T $out/files.txt | tar -xf - -C $out/tree || fail "copying the sources"
(cd $out/tree && env -u MAKEFLAGS -u MAKELEVEL make -j2 CC=$T-gcc CFLAGS="-O3 -Werror" STB=0 BUILD=build all \
    build/tests/test_kernels) > $out/build.log 2>&1 ||
    { tail -n 30 $out/build.log; fail "the cross build for $T (fer, libfer.a, libfer.so, embed; -Werror)"; }
A=$out/tree/fer
for f in $A $out/tree/libfer.so $out/tree/examples/embed; do
    LC_ALL=C readelf -h $f 2> /dev/null | grep -q 'Machine: *AArch64' || fail "$f is not an AArch64 ELF file"
done
$T-nm -g --defined-only $out/tree/libfer.a | awk 'NF >= 3 && $3 !~ /^fer_/ { print; bad = 1 } END { exit bad }' ||
    fail "libfer.a for $T exports names without the fer_ prefix"
ok "cross build for $T with -Werror: fer, libfer.a (fer_ names only), libfer.so, embed"
run_arm $out/tree/build/tests/test_kernels > $out/test_kernels.txt 2>&1 ||
    { tail -n 20 $out/test_kernels.txt; fail "test_kernels under qemu"; }
grep -Eq '^neon: [1-9][0-9]* cases, 0 failed' $out/test_kernels.txt || fail "test_kernels on $T did not test the neon GEMM"
ok "test_kernels on $T: $(grep '^neon:' $out/test_kernels.txt) against the naive GEMM; $(tail -n 1 $out/test_kernels.txt)"

# 2. ISA dispatch on a CPU without the x86 kernels
run_arm $A --version > $out/version.txt 2>&1 || fail "fer --version under qemu"
got=$(run_arm $A bench tests/cfg/tiny.cfg -iters 1 -batch 2 -threads 1 2> /dev/null | sed -n 's/^isa: //p')
[ "$got" = neon ] || fail "the kernel set chosen on $T is '$got', expected neon"
run_arm $A net cfg/shallow.cfg -isa avx2 > $out/isa.txt 2>&1 && fail "-isa avx2 accepted on $T"
grep -q "unknown or unavailable ISA 'avx2'" $out/isa.txt || { cat $out/isa.txt; fail "-isa avx2: no clear message"; }
run_arm $A net cfg/shallow.cfg -bf16 > $out/bf16.txt 2>&1 && fail "-bf16 accepted on $T"
grep -q "bf16 needs an x86-64 CPU" $out/bf16.txt || { cat $out/bf16.txt; fail "-bf16: no clear message"; }
run_arm $A net cfg/shallow.cfg > $out/net.txt 2>&1 || { cat $out/net.txt; fail "fer net under qemu"; }
grep -q "forward: 0.5813 GFLOPs" $out/net.txt || fail "fer net on $T: not shallow.cfg's 0.5813 GFLOPs"
ok "ISA dispatch: neon chosen; -isa avx2 and -bf16 refused with a message"
# built without libstb (STB=0): a JPEG is refused, plainly
run_arm $A classifier predict data/samples/obama.jpg > $out/jpeg.txt 2>&1 && fail "a JPEG accepted by a build without stb"
grep -q "built without stb" $out/jpeg.txt || { cat $out/jpeg.txt; fail "a JPEG without stb: no clear message"; }
ok "a build without libstb refuses a JPEG with a message"

# 3. training: the same seed and thread count on both CPUs, the same weights
synthetic_data $out smoke
synthetic_cfg $out/tiny.cfg 4
run_arm $A classifier train $out/smoke.data $out/tiny.cfg -seed 3 -threads 2 -isa scalar -quiet -backup $out/arm \
    > $out/train_arm.txt 2>&1 ||
    { cat $out/train_arm.txt; fail "training under qemu"; }
$FER classifier train $out/smoke.data $out/tiny.cfg -seed 3 -threads 2 -isa scalar -quiet -backup $out/x86 \
    > $out/train_x86.txt 2>&1 || { cat $out/train_x86.txt; fail "training on x86-64 (-isa scalar)"; }
cmp $out/arm/tiny_final.weights $out/x86/tiny_final.weights ||
    fail "4 epochs on $T and on x86-64 (-isa scalar) gave different weights"
ok "training on $T with -isa scalar: weights identical to x86-64's -isa scalar run"
run_arm $A classifier train $out/smoke.data $out/tiny.cfg -seed 3 -threads 2 -quiet -backup $out/neon > $out/train_neon.txt 2>&1 ||
    { cat $out/train_neon.txt; fail "training with neon under qemu"; }
run_arm $A classifier valid $out/smoke.data $out/tiny.cfg $out/neon/tiny_final.weights > $out/valid_neon.txt 2>&1 ||
    fail "valid with neon under qemu"
a=$(awk '/^accuracy:/ { print $2 }' $out/valid_neon.txt)
awk -v a="$a" 'BEGIN { exit !(a > 0.5) }' || fail "trained with neon on $T: accuracy $a, expected > 0.5 on three easy classes"
ok "training on $T with neon: accuracy $a"

# 4. the weights the ARM run wrote, read on both CPUs
run_arm $A classifier valid $out/smoke.data $out/tiny.cfg $out/arm/tiny_final.weights > $out/valid_arm.txt 2>&1 ||
    fail "valid under qemu"
$FER classifier valid $out/smoke.data $out/tiny.cfg $out/arm/tiny_final.weights > $out/valid_x86.txt 2>&1 ||
    fail "valid on x86-64 of the weights written on $T"
a=$(awk '/^accuracy:/ { print $2 }' $out/valid_arm.txt)
b=$(awk '/^accuracy:/ { print $2 }' $out/valid_x86.txt)
awk -v a="$a" 'BEGIN { exit !(a > 0.5) }' || fail "accuracy on $T $a, expected > 0.5 on three easy classes"
[ "$a" = "$b" ] || fail "the same weights: accuracy $a on $T, $b on x86-64"
ok "weights written on $T read on both CPUs: accuracy $a on each"

# 5. predict -json of one face
first_face $out/faces.csv $out/face.pgm
run_arm $A classifier predict $out/smoke.data $out/tiny.cfg $out/arm/tiny_final.weights $out/face.pgm -json -isa scalar \
    > $out/predict_arm.json 2> $out/predict_arm.err || { cat $out/predict_arm.err; fail "predict under qemu"; }
$FER classifier predict $out/smoke.data $out/tiny.cfg $out/arm/tiny_final.weights $out/face.pgm -json -isa scalar \
    > $out/predict_x86.json 2> /dev/null || fail "predict on x86-64"
grep -q '"label": "top"' $out/predict_arm.json || { cat $out/predict_arm.json; fail "predict on $T: expected the label top"; }
cmp $out/predict_arm.json $out/predict_x86.json || fail "predict -json differs between $T and x86-64"
ok "predict -json identical on both CPUs"

# 6. a shipped model on real faces
if [ -s data/fer2013.csv ]; then
    m="cfg/mini_xception.cfg weights/mini_xception.weights"
    run_arm $A ensemble $m -limit 64 -threads 2 -isa scalar -o $out/probs_arm.csv > $out/ens_arm.txt 2>&1 ||
        { cat $out/ens_arm.txt; fail "mini_xception under qemu"; }
    $FER ensemble $m -limit 64 -threads 2 -isa scalar -o $out/probs_x86.csv > /dev/null 2>&1 || fail "mini_xception on x86-64"
    [ "$(wc -l < $out/probs_arm.csv)" -eq 65 ] || fail "mini_xception on $T: expected 64 rows of probabilities"
    cmp $out/probs_arm.csv $out/probs_x86.csv || fail "mini_xception's probabilities differ between $T and x86-64"
    ok "mini_xception on 64 PublicTest faces: probabilities identical on both CPUs ($(tail -n 1 $out/ens_arm.txt))"
    # neon fuses multiply-adds: not the same bits, the same probabilities to 1e-4
    run_arm $A ensemble $m -limit 64 -threads 2 -o $out/probs_neon.csv > $out/ens_neon.txt 2>&1 ||
        { cat $out/ens_neon.txt; fail "mini_xception with neon under qemu"; }
    [ "$(wc -l < $out/probs_neon.csv)" -eq 65 ] || fail "mini_xception with neon on $T: expected 64 rows of probabilities"
    d=$(paste -d, $out/probs_neon.csv $out/probs_x86.csv | awk -F, 'NR > 1 { h = NF / 2
            for (i = 4; i <= h; i++) { x = $i - $(h + i); if (x < 0) x = -x; if (x > d) d = x } } END { printf "%g", d }')
    awk -v d="$d" 'BEGIN { exit !(d < 1e-4) }' || fail "mini_xception with neon: probabilities differ from scalar's by $d"
    ok "mini_xception with neon: probabilities within $d of scalar's ($(tail -n 1 $out/ens_neon.txt))"
else
    echo "not run: mini_xception on FER-2013 faces (data/fer2013.csv is absent)"
fi

# 7. the demo: the face detector, tracking and the default model (shallow)
clip_ok=0
if [ -x $BUILD/tests/tool_mkclip ] && $BUILD/tests/tool_mkclip data/samples/two_people.jpg $out/clip.y4m 2 > /dev/null 2>&1; then
    clip_ok=1
fi
if [ $clip_ok = 1 ] && $FER demo -i $out/clip.y4m -json -isa scalar -threads 2 > $out/demo_x86.json 2> $out/demo_x86.err; then
    run_arm $A demo -i $out/clip.y4m -json -isa scalar -threads 2 > $out/demo_arm.json 2> $out/demo_arm.err ||
        { cat $out/demo_arm.err; fail "the demo under qemu"; }
    # the timings differ: everything else must not
    for f in demo_arm demo_x86; do sed 's/, "ms": {[^}]*}, "fps": [0-9.]*//' $out/$f.json > $out/$f.cmp; done
    [ "$(grep -c '"box"' $out/demo_arm.cmp)" -eq 2 ] || { cat $out/demo_arm.json; fail "the demo on $T: expected 2 frames with faces"; }
    grep -q '"id": 2' $out/demo_arm.cmp || fail "the demo on $T: expected two faces"
    cmp $out/demo_arm.cmp $out/demo_x86.cmp || fail "the demo's faces and emotions differ between $T and x86-64"
    ok "demo on a 2-frame clip of two faces: boxes, ids and probabilities identical on both CPUs"
else
    echo "not run: the demo (needs $BUILD/tests/tool_mkclip with JPEG support and the Haar cascade: $(head -n 1 $out/demo_x86.err 2> /dev/null))"
fi

# 8. a program linked with libfer.a, through fer.h alone
run_arm $out/tree/examples/embed cfg/mini_xception.cfg weights/mini_xception.weights $out/face.pgm > $out/embed_arm.txt 2>&1 ||
    { cat $out/embed_arm.txt; fail "examples/embed under qemu"; }
grep -q '^face 1 at 0,0 48x48: ' $out/embed_arm.txt || { cat $out/embed_arm.txt; fail "embed on $T: expected one face"; }
ok "examples/embed (libfer.a) on $T"
echo "$pass passed"
