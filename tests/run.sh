#!/bin/sh
# run.sh - runs the tests: the unit test programs ($BUILD/tests/test_*), the
# static checks (tests/static/e2e_*.sh), then the end-to-end tests
# (tests/e2e/e2e_*.sh). TIER=check keeps the fast tier (make check): the
# unit tests, the static checks and tests/e2e/e2e_smoke.sh. Prints one line
# per program and a final "N passed, N failed" line; exits non-zero when
# anything failed.
# A test that cannot run here (missing data or Python module) prints SKIP
# with the reason and exits 77.
BUILD=${BUILD:-build}
FER=${FER:-./fer}
export FER BUILD
pass=0; fail=0; skip=0
mkdir -p tests/out
# the FER-2013 CSV for the end-to-end tests: unpacked from ../shared when it
# is beside the clone (data/README.md), else those tests skip and say so
shared=../shared/data/fer2013/fer2013.csv.gz
if [ ! -s data/fer2013.csv ] && [ -f $shared ]; then
    echo "unpacking $shared to data/fer2013.csv"
    gunzip -c $shared > data/fer2013.csv.tmp && mv data/fer2013.csv.tmp data/fer2013.csv
fi
if [ "$TIER" = check ]; then
    e2e=tests/e2e/e2e_smoke.sh
else
    e2e=tests/e2e/e2e_*.sh
fi
for t in "$BUILD"/tests/test_* tests/static/e2e_*.sh $e2e; do
    [ -e "$t" ] || continue
    case "$t" in *.d) continue ;; esac
    name=$(basename "$t")
    log="tests/out/$name.log"
    start=$(date +%s)
    case "$t" in
        *.sh) sh "$t" > "$log" 2>&1 ;;
        *) "$t" > "$log" 2>&1 ;;
    esac
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "PASS $name (${secs}s) $(tail -n 1 "$log")"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); echo "SKIP $name: $(grep -m1 SKIP "$log")"
    else
        fail=$((fail + 1)); echo "FAIL $name (exit $rc, ${secs}s); last lines of $log:"; tail -n 15 "$log" | sed 's/^/    /'
    fi
done
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
