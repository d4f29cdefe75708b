#!/bin/sh
# symbols.sh - libfer is a library: every global symbol it defines starts
# with fer_, so that a program linking it cannot clash with fer's internal
# names. Usage: sh tests/static/symbols.sh [ARCHIVE ...] (default libfer.a;
# libfer.so too when it exists, through nm -D).
[ $# -gt 0 ] || set -- libfer.a $( [ -f libfer.so ] && echo libfer.so )
command -v nm > /dev/null 2>&1 || { echo "SKIP: nm is absent (apt-get install binutils)"; exit 77; }
bad=0
for lib in "$@"; do
    [ -f "$lib" ] || { echo "symbols: $lib is missing (run make)"; exit 1; }
    case "$lib" in *.so*) opt=-D ;; *) opt= ;; esac
    list=$(nm $opt -g --defined-only "$lib" 2> /dev/null | awk 'NF >= 3 { print $3 }' | sort -u)
    total=$(printf '%s\n' "$list" | grep -c .)
    others=$(printf '%s\n' "$list" | grep -v '^fer_' | grep .)
    if [ -n "$others" ]; then
        echo "symbols: $lib defines $(printf '%s\n' "$others" | wc -l) global symbol(s) without the fer_ prefix:"
        printf '%s\n' "$others" | head -n 20 | sed 's/^/    /'
        bad=1
    else
        echo "symbols: $lib: $total global symbols, all fer_"
    fi
done
exit $bad
