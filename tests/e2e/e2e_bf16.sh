#!/bin/sh
# e2e_bf16.sh - accuracy parity of the BF16 GEMM: the same short training run
# on real data with fp32 GEMMs and with -bf16 (operands rounded to bfloat16,
# fp32 accumulation, fp32 weights, gradients and optimizer state) reaches the
# same validation accuracy within noise, both clearly above chance.
. tests/e2e/lib.sh
if [ ! -s data/fer2013.csv ]; then
    echo "SKIP: data/fer2013.csv is absent"
    exit 77
fi
if ! err=$($FER bench tests/cfg/tiny.cfg -iters 1 -batch 2 -threads 1 -infer-only -bf16 2>&1 >/dev/null); then
    case "$err" in
        *bf16*) echo "SKIP: ${err#fer: }"; exit 77 ;;
        *) echo "FAIL: fer bench -bf16: $err"; exit 1 ;;
    esac
fi
out=tests/out/e2e_bf16
rm -rf $out && mkdir -p $out
for p in fp32 bf16; do
    flag=; [ $p = bf16 ] && flag=-bf16
    FER_PRECISION= $FER classifier train tests/cfg/tiny.cfg -limit 8192 -limit-valid 1024 -seed 11 -threads 2 \
        -quiet $flag -backup $out/$p || { echo "FAIL: training with precision $p"; exit 1; }
done
# the final validation accuracy: the last line's last column but two
acc() { tail -n 1 $out/$1/tiny.log.csv | awk -F, '{ print $(NF - 2) }'; }
a=$(acc fp32); b=$(acc bf16)
echo "final $(head -n 1 $out/fp32/tiny.log.csv | awk -F, '{ print $(NF - 2) }'): fp32 $a, bf16 $b"
if awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d < 0.04 && a > 0.33 && b > 0.33) }'; then
    echo "e2e_bf16: 1 passed, 0 failed"
else
    echo "FAIL: fp32 and bf16 accuracies differ by 0.04 or more, or one is not above 0.33"
    exit 1
fi
