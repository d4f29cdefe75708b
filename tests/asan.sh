#!/bin/sh
# asan.sh - the sanitizer run behind `make test-asan` (usage: sh tests/asan.sh
# BUILD_DIR, default build-asan). With everything in BUILD_DIR built with
# -fsanitize=address,undefined, it runs:
#   1. every BUILD_DIR/tests/test_* program (the corpus test on tests/corpus);
#   2. BUILD_DIR/fer net FILE on every corpus file and on the corpus test's
#      generated files: bad_* and generated files must exit 1, ok_* exit 0;
#   3. a few other error paths of the CLI (missing files, bad weights);
#   4. every fuzz harness BUILD_DIR/tests/fuzz_* on its seed corpus and
#      crashers (tests/fuzz/corpus/<surface>/, tests/fuzz/crashers/<surface>/).
# Any sanitizer report, or any unexpected exit code, fails the run. The
# sanitizers exit with codes 86 (ASan/LSan) and 87 (UBSan) so that their
# reports cannot pass for fer's own exit code 1. Logs: tests/out/asan/.
B=${1:-build-asan}
FER="$B/fer"
LOG=tests/out/asan
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=87"
export ASAN_OPTIONS UBSAN_OPTIONS
mkdir -p "$LOG"
pass=0
fail=0
SANITIZER='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer'

if [ ! -x "$FER" ]; then
    echo "asan.sh: $FER is missing; run 'make test-asan'"
    exit 1
fi

# check NAME EXPECTED_RC LOGFILE RC: records one result
check() {
    if grep -Eq "$SANITIZER" "$3"; then
        fail=$((fail + 1))
        echo "FAIL $1: sanitizer report (exit $4); see $3:"
        grep -E -A12 "$SANITIZER" "$3" | head -n 30 | sed 's/^/    /'
    elif [ "$4" -ne "$2" ]; then
        fail=$((fail + 1))
        echo "FAIL $1: exit $4, expected $2; last lines of $3:"
        tail -n 8 "$3" | sed 's/^/    /'
    else
        pass=$((pass + 1))
    fi
}

# 1. the test programs
for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    case "$name" in
        test_cfg_corpus) "$t" tests/corpus > "$LOG/$name.log" 2>&1 ;;
        *) "$t" > "$LOG/$name.log" 2>&1 ;;
    esac
    rc=$?
    check "$name" 0 "$LOG/$name.log" $rc
    echo "$name: $(tail -n 1 "$LOG/$name.log") (exit $rc)"
done

# 2. fer net over the corpus and the generated files
n=0
for f in tests/corpus/*.cfg tests/out/corpus_gen/*; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in
        ok_*) want=0 ;;
        *) want=1 ;;
    esac
    log="$LOG/net_$(basename "$f").log"
    "$FER" net "$f" > "$log" 2>&1
    check "fer net $f" $want "$log" $?
    n=$((n + 1))
done
echo "fer net: $n corpus files"

# 3. other error paths of the command line
run() {   # run NAME EXPECTED_RC ARGS...
    name=$1; want=$2; shift 2
    log="$LOG/cli_$name.log"
    "$FER" "$@" > "$log" 2>&1
    check "fer $*" "$want" "$log" $?
}
printf 'not weights' > "$LOG/bad.weights"
printf '\000\000\000\000\002\000\000\000\005\000\000\000\377\377\377\377\377\377\377\377garbage' > "$LOG/random.weights"
printf 'P5\n4 4\n255\nabc' > "$LOG/truncated.pgm"
printf 'P5\n5 5\n255\n' > "$LOG/face.pgm"
i=0
while [ $i -lt 25 ]; do printf "\\$(printf '%03o' $((i * 10)))" >> "$LOG/face.pgm"; i=$((i + 1)); done
printf 'classes=2\nlabels=%s/two.labels\n' "$LOG" > "$LOG/two.data"
printf 'calm\nsurprised\n' > "$LOG/two.labels"
"$B/tests/tool_randweights" tests/corpus/ok_minimal.cfg "$LOG/ok.weights" 7 > "$LOG/tool.log" 2>&1
check "tool_randweights" 0 "$LOG/tool.log" $?
run no_args 2
run unknown_command 2 frobnicate
run net_missing_file 1 net "$LOG/no_such.cfg"
run net_bad_weights 1 net tests/corpus/ok_minimal.cfg "$LOG/bad.weights"
run net_short_weights 1 net tests/corpus/ok_minimal.cfg "$LOG/random.weights"
run net_dir_weights 1 net tests/corpus/ok_minimal.cfg "$LOG"
run net_ok_weights 0 net tests/corpus/ok_minimal.cfg "$LOG/ok.weights"
run net_wrong_cfg_weights 1 net tests/corpus/ok_crlf.cfg "$LOG/ok.weights"
run predict 0 classifier predict "$LOG/two.data" tests/corpus/ok_minimal.cfg "$LOG/ok.weights" "$LOG/face.pgm" -json
run predict_missing_image 1 classifier predict "$LOG/two.data" tests/corpus/ok_minimal.cfg "$LOG/ok.weights" "$LOG/no_such.pgm"
run predict_truncated_image 1 classifier predict "$LOG/two.data" tests/corpus/ok_minimal.cfg "$LOG/ok.weights" "$LOG/truncated.pgm"
# a 20-byte header claiming 16384x16384x3: rejected before any allocation
# (the allocator is capped at 512 MB for this run: allocating first fails it)
printf 'P6\n16384 16384\n255\nabc' > "$LOG/huge_header.ppm"
saved_asan=$ASAN_OPTIONS
ASAN_OPTIONS="$ASAN_OPTIONS:max_allocation_size_mb=512"
run predict_huge_header_image 1 classifier predict "$LOG/two.data" tests/corpus/ok_minimal.cfg "$LOG/ok.weights" "$LOG/huge_header.ppm"
ASAN_OPTIONS=$saved_asan
run predict_cfg_as_image 1 classifier predict "$LOG/two.data" tests/corpus/ok_minimal.cfg "$LOG/ok.weights" tests/corpus/ok_minimal.cfg
run partial_bad 1 partial tests/corpus/ok_minimal.cfg "$LOG/bad.weights" "$LOG/out.weights" 1

# distillation: a teacher file read and used (64 faces, one epoch), then a malformed one
if [ -s data/fer2013.csv ]; then
    awk -F, 'NR == 1 { print "index,true,pred,ens_angry,ens_disgust,ens_fear,ens_happy,ens_sad,ens_surprise,ens_neutral"; next }
             $3 ~ /^Training/ && n < 64 { printf "%d,%d,0,0.1,0.1,0.1,0.4,0.1,0.1,0.1\n", n, $1; n++ }' \
        data/fer2013.csv > "$LOG/teacher.csv"
    printf '64,3,3,0,0,0,1,0,0,0' >> "$LOG/teacher.csv"   # beyond -limit (skipped), without a final newline
    run distill 0 classifier train tests/cfg/tiny.cfg -limit 64 -limit-valid 32 -epochs 1 -quiet -threads 1 \
        -backup "$LOG/distill" -teacher "$LOG/teacher.csv" -distill 0.7
    sed '5 s/0.4,/0.5,/' "$LOG/teacher.csv" > "$LOG/teacher_bad.csv"
    run distill_bad_sum 1 classifier train tests/cfg/tiny.cfg -limit 64 -limit-valid 32 -epochs 1 -quiet -threads 1 \
        -backup "$LOG/distill_bad" -teacher "$LOG/teacher_bad.csv"
fi

# fer demo: error paths and one run over stills and video
printf 'YUV4MPEG2 W64 H48 C420jpeg\nFRAME\nshort' > "$LOG/truncated.y4m"
printf 'YUV4MPEG2 W99999 H99999\n' > "$LOG/huge.y4m"
"$B/tests/tool_randweights" tests/cfg/tiny.cfg "$LOG/tiny.weights" 3 > "$LOG/tool_tiny.log" 2>&1
check "tool_randweights tiny" 0 "$LOG/tool_tiny.log" $?
run demo_no_camera 1 demo tests/cfg/tiny.cfg "$LOG/tiny.weights" -c 99
run demo_truncated_y4m 1 demo tests/cfg/tiny.cfg "$LOG/tiny.weights" -i "$LOG/truncated.y4m" -json
run demo_huge_y4m 1 demo tests/cfg/tiny.cfg "$LOG/tiny.weights" -i "$LOG/huge.y4m"
# -neighbors 0 with no window matched: grouping copies zero boxes (UBSan)
run demo_neighbors0 0 demo tests/cfg/tiny.cfg "$LOG/tiny.weights" -i "$LOG/face.pgm" -neighbors 0 -json
run demo_bad_cascade 1 demo tests/cfg/tiny.cfg "$LOG/tiny.weights" -i "$LOG/face.pgm" -cascade tests/corpus/haar/bad_node_backwards.xml
if [ -f ../shared/data/faces/obama.pgm ]; then
    run demo_photo 0 demo tests/cfg/tiny.cfg "$LOG/tiny.weights" -i ../shared/data/faces/obama.pgm -json -o "$LOG/obama.png"
    "$B/tests/tool_mkclip" ../shared/data/faces/obama.pgm "$LOG/clip.y4m" 6 320 240 > "$LOG/tool_clip.log" 2>&1
    check "tool_mkclip" 0 "$LOG/tool_clip.log" $?
    run demo_clip 0 demo tests/cfg/tiny.cfg "$LOG/tiny.weights" -i "$LOG/clip.y4m" -o "$LOG/out.y4m" -json
fi

# 4. the fuzz harnesses replay their seeds and the crashers fuzzing found
for t in "$B"/tests/fuzz_*; do
    [ -x "$t" ] || continue
    s=${t##*/fuzz_}
    dirs=tests/fuzz/corpus/$s
    [ -d tests/fuzz/crashers/$s ] && dirs="$dirs tests/fuzz/crashers/$s"
    log="$LOG/fuzz_$s.log"
    TMPDIR=$LOG "$t" $dirs > "$log" 2>&1
    check "fuzz_$s $dirs" 0 "$log" $?
    echo "fuzz_$s: $(tail -n 1 "$log")"
done

echo "asan: $pass passed, $fail failed"
[ $fail -eq 0 ]
