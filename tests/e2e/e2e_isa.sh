#!/bin/sh
# e2e_isa.sh - the same short training run with the portable scalar kernels
# and with the fastest ISA this CPU has reaches the same accuracy within
# noise, and the two runs' first-epoch losses agree closely (the kernels
# differ only in summation order).
. tests/e2e/lib.sh
if [ ! -s data/fer2013.csv ]; then
    echo "SKIP: data/fer2013.csv is absent"
    exit 77
fi
out=tests/out/e2e_isa
rm -rf $out && mkdir -p $out
best=$($FER bench tests/cfg/tiny.cfg -iters 1 -batch 2 -threads 1 | sed -n 's/^isa: //p')
if [ "$best" = scalar ]; then
    echo "SKIP: this CPU has no SIMD kernel set beyond scalar"
    exit 77
fi
for isa in scalar $best; do
    $FER classifier train tests/cfg/tiny.cfg -limit 8192 -limit-valid 1024 -seed 11 -threads 2 -isa $isa -quiet \
        -backup $out/$isa || { echo "FAIL: training with -isa $isa"; exit 1; }
done
python_free_compare() {
    # epoch 1 train loss and final val accuracy of both logs
    a=$(sed -n 2p $out/scalar/tiny.log.csv); b=$(sed -n 2p $out/$best/tiny.log.csv)
    la=$(echo "$a" | cut -d, -f2); lb=$(echo "$b" | cut -d, -f2)
    va=$(tail -n 1 $out/scalar/tiny.log.csv | cut -d, -f5); vb=$(tail -n 1 $out/$best/tiny.log.csv | cut -d, -f5)
    echo "scalar: epoch-1 loss $la, final val acc $va; $best: epoch-1 loss $lb, final val acc $vb"
    awk -v la=$la -v lb=$lb -v va=$va -v vb=$vb 'BEGIN {
        dl = la - lb; if (dl < 0) dl = -dl; dv = va - vb; if (dv < 0) dv = -dv;
        exit !(dl < 0.05 && dv < 0.04) }'
}
if python_free_compare; then
    echo "e2e_isa: 1 passed, 0 failed"
else
    echo "FAIL: scalar and $best runs differ by more than noise"
    exit 1
fi
