#!/bin/sh
# run.sh - the fuzzing campaign behind `make fuzz` (usage: sh tests/fuzz/run.sh
# [SURFACE...], default every tests/fuzz/fuzz_<surface>.c). Environment:
#   FUZZ_SECONDS  seconds per surface (60; no limit when FUZZ_RUNS is set)
#   FUZZ_RUNS     stop each surface after this many executions instead
#   FUZZ_KEEP=1   continue from the last run's corpus (tests/out/fuzz/
#                 <surface>/corpus) instead of a fresh copy of the seeds: a
#                 long campaign in several runs
#   FUZZ_MERGE=1  merge the new inputs that add coverage into
#                 tests/fuzz/corpus/<surface>/ (libFuzzer -merge=1)
#   MAKE          the make that builds the harnesses (`make fuzz-build`)
# Each harness, built by clang with libFuzzer, ASan and UBSan into
# build-fuzz/fuzz/, runs for FUZZ_SECONDS on a scratch copy of its seed
# corpus (tests/out/fuzz/<surface>/corpus: the repository's corpus is only
# read unless FUZZ_MERGE=1), with tests/fuzz/dict/<surface>.dict (the words
# of its format) when there is one. A crash, leak, timeout (-timeout=10 s per
# input) or out-of-memory (-rss_limit_mb=1024) is written to
# tests/fuzz/crashers/<surface>/ (tests/fuzz/crashers/README.md says what to
# do with it). Prints one line per surface (executions, seconds, corpus size,
# crashes) and exits 1 when any harness crashed. Without clang or its
# fuzzer runtime it says so and exits 0. Logs: tests/out/fuzz/<surface>.log.
cd "$(dirname "$0")/../.." || exit 1
if [ -n "${FUZZ_RUNS:-}" ]; then
    SECONDS_EACH=${FUZZ_SECONDS:-0}
    RUNS=$FUZZ_RUNS
else
    SECONDS_EACH=${FUZZ_SECONDS:-60}
    RUNS=-1
fi
MAKE=${MAKE:-make}
OUT=tests/out/fuzz
mkdir -p $OUT

# the longest input per surface: room for a few frames, rows or a whole
# weights file of tests/cfg/tiny.cfg (52 KB), no more
max_len() {
    case $1 in
        weights | y4m) echo 65536 ;;
        dataset | csv | image) echo 32768 ;;
        cfg | haar) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

probe() {   # can clang build and link a libFuzzer program here?
    rm -f $OUT/probe.log
    command -v clang > /dev/null 2>&1 || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
        > $OUT/probe.c
    clang -fsanitize=fuzzer,address,undefined -o $OUT/probe $OUT/probe.c > $OUT/probe.log 2>&1
}
if ! probe; then
    echo "SKIP make fuzz: clang with libFuzzer is not available ($(head -n 1 $OUT/probe.log 2> /dev/null || echo 'no clang'));"
    echo "    Debian: apt-get install clang libclang-rt-14-dev"
    exit 0
fi
if ! $MAKE fuzz-build > $OUT/build.log 2>&1; then
    tail -n 30 $OUT/build.log
    echo "make fuzz: the build failed (see $OUT/build.log)"
    exit 1
fi

if [ $# -gt 0 ]; then
    surfaces="$*"
else
    surfaces=$(for f in tests/fuzz/fuzz_*.c; do s=${f##*/fuzz_}; echo "${s%.c}"; done)
fi

# fuzz SURFACE: one campaign; prints its table row, returns 1 on a crash
fuzz() {
    s=$1
    bin=build-fuzz/fuzz/fuzz_$s
    crashers=tests/fuzz/crashers/$s
    work=$OUT/$s
    [ -x $bin ] || { printf '%-10s %s\n' "$s" "no harness $bin"; return 1; }
    if [ "${FUZZ_KEEP:-0}" = 1 ] && [ -d $work/corpus ]; then
        rm -rf $work/tmp && mkdir -p $work/tmp $crashers
    else
        rm -rf $work && mkdir -p $work/corpus $work/tmp $crashers
    fi
    [ -d tests/fuzz/corpus/$s ] && cp tests/fuzz/corpus/$s/* $work/corpus/ 2> /dev/null
    # the cfg surface also starts from the Darknet-dialect test cfgs, the
    # dataset surface (lists, folders and CSV) from the CSV seeds too
    [ $s = cfg ] && cp tests/cfg/darknet_dialect.cfg tests/cfg/darknet_dilated.cfg $work/corpus/
    [ $s = dataset ] && cp tests/fuzz/corpus/csv/* $work/corpus/
    ls -A $crashers > $work/before.txt
    dict=
    [ -f tests/fuzz/dict/$s.dict ] && dict=-dict=tests/fuzz/dict/$s.dict
    [ $s = csv ] && dict=-dict=tests/fuzz/dict/dataset.dict   # the CSV's words are there
    start=$(date +%s)
    TMPDIR=$work/tmp $bin -max_total_time=$SECONDS_EACH -runs=$RUNS -max_len=$(max_len $s) -rss_limit_mb=1024 \
        -timeout=10 $dict -close_fd_mask=3 -print_final_stats=1 -artifact_prefix=$crashers/ $work/corpus \
        < /dev/null > $OUT/$s.log 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' $OUT/$s.log | tail -n 1)
    ls -A $crashers | grep -vxF -f $work/before.txt | grep -v '^README' > $work/new.txt
    crashes=$(wc -l < $work/new.txt)
    [ $rc -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
    printf '%-10s %12s %8s %8s %8s\n' "$s" "${execs:-?}" "$secs" "$(ls $work/corpus | wc -l)" "$crashes"
    if [ "${FUZZ_MERGE:-0}" = 1 ] && [ $rc -eq 0 ]; then
        # the seeds borrowed from elsewhere stay where they live
        [ $s = cfg ] && rm -f $work/corpus/darknet_dialect.cfg $work/corpus/darknet_dilated.cfg
        if [ $s = dataset ]; then for f in tests/fuzz/corpus/csv/*; do rm -f "$work/corpus/${f##*/}"; done; fi
        mkdir -p tests/fuzz/corpus/$s
        TMPDIR=$work/tmp $bin -merge=1 -max_len=$(max_len $s) -rss_limit_mb=1024 -timeout=10 -close_fd_mask=3 \
            tests/fuzz/corpus/$s $work/corpus < /dev/null > $OUT/$s.merge.log 2>&1 ||
            echo "    merge failed (see $OUT/$s.merge.log)"
    fi
    rmdir $crashers 2> /dev/null   # only when empty: nothing new, nothing kept
    [ $rc -eq 0 ] && return 0
    sed 's|^|    new: |' $work/new.txt
    grep -E 'ERROR: |SUMMARY: |fuzz oracle failed|ALARM|out-of-memory' $OUT/$s.log | head -n 5 | sed 's/^/    /'
    return 1
}

printf '%-10s %12s %8s %8s %8s\n' surface executions seconds corpus crashes
failed=0
for s in $surfaces; do
    fuzz "$s" || failed=$((failed + 1))
done
if [ $failed -gt 0 ]; then
    echo "make fuzz: $failed harness(es) crashed; replay an input with build/tests/fuzz_<surface> FILE"
    exit 1
fi
if [ "$RUNS" = -1 ]; then
    echo "make fuzz: no crashes ($SECONDS_EACH s per surface)"
else
    echo "make fuzz: no crashes ($RUNS executions per surface)"
fi
