#!/bin/sh
# e2e_static.sh - the two static rules of the house, each checked on the tree
# and shown able to fail: the layering check (tests/static/layering.sh) on
# the real sources, then on a copy with an upward include planted; the
# symbol check (tests/static/symbols.sh) on libfer.a, then on a copy of it
# with a global symbol without the fer_ prefix added; no function in src/
# or examples/ longer than 120 lines (tests/static/funclen.awk).
. tests/e2e/lib.sh
out=tests/out/static
rm -rf $out && mkdir -p $out
sh tests/static/layering.sh > $out/layering.txt 2>&1 || { cat $out/layering.txt; fail "layering check on the tree"; }
ok "$(tail -n 1 $out/layering.txt)"
mkdir -p $out/tree && cp -r src include examples $out/tree/
echo '#include "vision/haar.h"' >> $out/tree/src/engine/cfg.c
if sh tests/static/layering.sh $out/tree > $out/planted.txt 2>&1; then fail "layering check passed a planted upward include"; fi
grep -q 'src/engine/cfg.c (engine) includes "vision/haar.h" from vision' $out/planted.txt ||
    { cat $out/planted.txt; fail "the planted include is not named"; }
ok "layering check fails on a planted include: $(head -n 1 $out/planted.txt)"
printf 'int loose;\n' > $out/loose.c && cp $out/loose.c $out/tree/src/loose.c
sh tests/static/layering.sh $out/tree > $out/loose.txt 2>&1 && fail "layering check passed a .c file loose in src/"
ok "layering check fails on a loose src/*.c"

# 3. every function of src/ and examples/ reads on one screen (<= 120 lines)
awk -f tests/static/funclen.awk $(find src examples -name '*.c') | sort -rn > $out/funclen.txt
longest=$(head -n 1 $out/funclen.txt)
[ "${longest%% *}" -le 120 ] || fail "a function is longer than 120 lines: $longest"
ok "the longest function: $longest"
printf 'int planted(void)\n{\n' > $out/tree/src/engine/long.c
i=0; while [ $i -lt 130 ]; do echo "    (void)0;" >> $out/tree/src/engine/long.c; i=$((i + 1)); done
printf '    return 0;\n}\n' >> $out/tree/src/engine/long.c
awk -f tests/static/funclen.awk $out/tree/src/engine/long.c | grep -q '^134 .*planted$' ||
    fail "the length check does not see a planted 134-line function"
ok "the length check measures a planted 134-line function"

command -v nm > /dev/null 2>&1 || skip "nm is absent (apt-get install binutils)"
sh tests/static/symbols.sh libfer.a > $out/symbols.txt 2>&1 || { cat $out/symbols.txt; fail "symbol check on libfer.a"; }
ok "$(tail -n 1 $out/symbols.txt)"
printf 'int split_range_planted(int x) { return x + 1; }\n' > $out/planted.c
cc -c -o $out/planted.o $out/planted.c || fail "cannot compile the planted object"
cp libfer.a $out/libfer_planted.a && ar rs $out/libfer_planted.a $out/planted.o 2> /dev/null
if sh tests/static/symbols.sh $out/libfer_planted.a > $out/symbols_planted.txt 2>&1; then
    fail "symbol check passed a planted global without fer_"
fi
grep -q split_range_planted $out/symbols_planted.txt || fail "the planted symbol is not named"
ok "symbol check fails on a planted global: split_range_planted"
echo "$pass passed"
