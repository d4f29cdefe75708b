#!/bin/sh
# bench.sh - `make bench`: fer bench over the zoo's cfgs, then the side-by-side
# peer benchmark (PyTorch, OpenCV dnn) on the shallow CNN when Debian's
# python3-torch / python3-opencv are installed. Benchmarks, not tests: the
# numbers depend on what else the machine is doing.
FER=${FER:-./fer}
# the big networks at batch 16 (ResNet-50 at batch 64 needs over 8 GB of activations)
for spec in shallow:64 mini_xception:64 vgg_fer:64 resnet18:64 vgg16:16 inceptionv3:16 resnet50:16; do
    cfg=cfg/${spec%%:*}.cfg; batch=${spec##*:}
    [ -f "$cfg" ] || continue
    echo "== $cfg batch $batch"
    for t in 1 2; do
        $FER bench "$cfg" -batch $batch -threads $t -iters 5 | sed "s/^/  threads=$t /" | grep -E "img_per_s|latency_ms_batch1:|gflops|rss"
    done
done
echo "== cfg/shallow.cfg, batch sizes (2 threads)"
for b in 1 16 64 256; do
    $FER bench cfg/shallow.cfg -batch $b -threads 2 -iters 5 | grep -E "img_per_s" | sed "s/^/  batch=$b /"
done
if "${PYTHON:-/usr/bin/python3}" -c "import torch, cv2" 2>/dev/null; then
    echo "== peers, same run"
    "${PYTHON:-/usr/bin/python3}" tests/bench/peer_bench.py cfg/shallow.cfg --fer "$FER" --opencv-cfg tests/cfg/shallow_nobn_dense.cfg
else
    echo "== peers skipped: "${PYTHON:-/usr/bin/python3}" with torch and cv2 not found (apt-get install python3-torch python3-opencv)"
fi
