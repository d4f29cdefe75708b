#!/bin/sh
# e2e_fuzz_replay.sh - every fuzz harness, built without libFuzzer as
# $BUILD/tests/fuzz_<surface> (tests/fuzz/replay.c), replays its seed corpus
# (tests/fuzz/corpus/<surface>/) and the inputs fuzzing found crashing
# (tests/fuzz/crashers/<surface>/, fixed since): a crash or an oracle's
# abort() fails the test. tests/asan.sh does the same under ASan/UBSan.
. tests/e2e/lib.sh
out=tests/out/e2e_fuzz_replay
rm -rf $out && mkdir -p $out
bounded=
command -v timeout > /dev/null && bounded="timeout 600"
for src in tests/fuzz/fuzz_*.c; do
    s=${src##*/fuzz_}
    s=${s%.c}
    bin=$BUILD/tests/fuzz_$s
    [ -x $bin ] || fail "$bin is missing (make fuzz-replay builds it)"
    dirs=tests/fuzz/corpus/$s
    [ -d tests/fuzz/crashers/$s ] && dirs="$dirs tests/fuzz/crashers/$s"
    TMPDIR=$out $bounded $bin $dirs > $out/$s.log 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        tail -n 20 $out/$s.log
        fail "fuzz_$s failed on an input of $dirs (exit $rc; log $out/$s.log)"
    fi
    ok "fuzz_$s: $(tail -n 1 $out/$s.log | sed 's|.*: ||') from $dirs"
done
echo "$pass passed"
