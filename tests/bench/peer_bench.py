#!/usr/bin/python3
"""peer_bench.py - the same network as a fer cfg, timed in PyTorch and in
OpenCV's dnn module on random data, side by side with `fer bench` (fp32, and
-bf16 where the CPU has AVX512_BF16) in one invocation, printing images/s and
the ratios. For benchmarking only.

usage: /usr/bin/python3 tests/bench/peer_bench.py CFG [--fer ./fer] [--batch 64]
           [--threads 2] [--iters 10] [--opencv-cfg CFG2]

PyTorch gets a standard nn.Module (Conv2d, BatchNorm2d, MaxPool2d, Linear,
...) built from the cfg, trained with SGD(momentum) and cross-entropy, and run
under torch.no_grad() in eval mode for inference. OpenCV loads the cfg with
cv2.dnn.readNetFromDarknet and weights written by tests/ref/fer_torch.py
(random). OpenCV cannot run a [connected] layer with batch_normalize=1 (it
reads the tensors in the wrong order), so --opencv-cfg may name a variant
without it (e.g. tests/cfg/shallow_nobn_dense.cfg); the FLOPs are the same
to within 0.1%.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fer_torch  # noqa: E402  (parse_cfg)


def build_torch(cfg):
    import torch
    import torch.nn as nn

    sections = fer_torch.parse_cfg(cfg)
    net = sections[0][1]
    c, h, w = int(net["channels"]), int(net["height"]), int(net["width"])
    acts = {"relu": nn.ReLU, "leaky": lambda: nn.LeakyReLU(0.1), "linear": nn.Identity,
            "logistic": nn.Sigmoid, "tanh": nn.Tanh, "relu6": nn.ReLU6, "elu": nn.ELU,
            "selu": nn.SELU, "swish": nn.SiLU, "mish": nn.Mish, "gelu": nn.GELU}

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = nn.ModuleList()
            self.kinds = []
            self.refs = []
            shapes = []
            cc, hh, ww = c, h, w
            for i, (name, o) in enumerate(sections[1:]):
                kind = fer_torch.LAYER_TYPES[name]
                ref = None
                if kind == "convolutional":
                    f = int(o["filters"])
                    k = int(o.get("size", 1))
                    kh, kw = int(o.get("size_h", k)), int(o.get("size_w", k))
                    s = int(o.get("stride", 1))
                    pad = int(o.get("pad", 0))
                    ph, pw = (kh // 2, kw // 2) if pad else (int(o.get("padding", 0)),) * 2
                    g = int(o.get("groups", 1))
                    bn = int(o.get("batch_normalize", 0))
                    m = [nn.Conv2d(cc, f, (kh, kw), s, (ph, pw), groups=g, bias=not bn)]
                    if bn:
                        m.append(nn.BatchNorm2d(f))
                    m.append(acts[o.get("activation", "logistic")]())
                    mod = nn.Sequential(*m)
                    cc, hh, ww = f, (hh + 2 * ph - kh) // s + 1, (ww + 2 * pw - kw) // s + 1
                elif kind == "connected":
                    f = int(o["output"])
                    bn = int(o.get("batch_normalize", 0))
                    m = [nn.Flatten(), nn.Linear(cc * hh * ww, f)]
                    if bn:
                        m.append(nn.BatchNorm1d(f))
                    m.append(acts[o.get("activation", "logistic")]())
                    mod = nn.Sequential(*m)
                    cc, hh, ww = f, 1, 1
                elif kind == "maxpool":
                    k = int(o.get("size", 2))
                    s = int(o.get("stride", k))
                    pad = int(o.get("padding", k - 1))
                    if s == 1:   # 'same' pooling: pad pad//2 before, the rest after
                        mod = nn.Sequential(nn.ZeroPad2d((pad // 2, pad - pad // 2, pad // 2, pad - pad // 2)),
                                            nn.MaxPool2d(k, 1))
                    else:
                        mod = nn.MaxPool2d(k, s, ceil_mode=True)
                    hh, ww = (hh + pad - k) // s + 1, (ww + pad - k) // s + 1
                elif kind == "avgpool":
                    mod = nn.AdaptiveAvgPool2d(1)
                    hh = ww = 1
                elif kind == "dropout":
                    mod = nn.Dropout(float(o.get("probability", 0.5)))
                elif kind == "batchnorm":
                    mod = nn.BatchNorm2d(cc)
                elif kind == "shortcut":
                    ref = [i + int(o["from"]) if int(o["from"]) < 0 else int(o["from"])]
                    mod = acts[o.get("activation", "linear")]()
                elif kind == "route":
                    ref = [i + int(v) if int(v) < 0 else int(v) for v in o["layers"].split(",")]
                    mod = nn.Identity()
                    cc = sum(shapes[r][0] for r in ref)
                    hh, ww = shapes[ref[0]][1], shapes[ref[0]][2]
                elif kind in ("softmax", "cost"):
                    mod = nn.Identity()   # the loss applies log-softmax
                else:
                    raise ValueError(kind)
                self.mods.append(mod)
                self.kinds.append(kind)
                self.refs.append(ref)
                shapes.append((cc, hh, ww))

        def forward(self, x):
            outs = []
            for mod, kind, ref in zip(self.mods, self.kinds, self.refs):
                if kind == "shortcut":
                    x = mod(x + outs[ref[0]])
                elif kind == "route":
                    x = torch.cat([outs[r] for r in ref], 1)
                else:
                    x = mod(x)
                outs.append(x)
            return x.reshape(x.shape[0], -1)

    return Net(), (c, h, w)


def bench_torch(cfg, batch, threads, iters):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    model, (c, h, w) = build_torch(cfg)
    x = torch.rand(batch, c, h, w)
    classes = model(x[:2]).shape[1]
    y = torch.randint(0, classes, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    model.train()
    for it in range(iters + 1):
        if it == 1:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    train = batch * iters / (time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        for it in range(iters + 1):
            if it == 1:
                t0 = time.perf_counter()
            model(x)
        infer = batch * iters / (time.perf_counter() - t0)
        x1 = x[:1]
        for it in range(iters * 10 + 3):
            if it == 3:
                t0 = time.perf_counter()
            model(x1)
        lat = 1e3 * (time.perf_counter() - t0) / (iters * 10)
    return train, infer, lat, torch.__version__


def bench_opencv(cfg, batch, threads, iters):
    import cv2
    import numpy as np

    cv2.setNumThreads(threads)
    with tempfile.TemporaryDirectory() as d:
        wpath = os.path.join(d, "random.weights")
        fer_torch.main(["fer_torch.py", "randweights", cfg, wpath, "1"])
        net = cv2.dnn.readNetFromDarknet(cfg, wpath)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    sections = fer_torch.parse_cfg(cfg)
    c, h, w = (int(sections[0][1][k]) for k in ("channels", "height", "width"))
    blob = np.random.rand(batch, c, h, w).astype(np.float32)
    for it in range(iters + 1):
        if it == 1:
            t0 = time.perf_counter()
        net.setInput(blob)
        net.forward()
    infer = batch * iters / (time.perf_counter() - t0)
    one = blob[:1].copy()
    for it in range(iters * 10 + 3):
        if it == 3:
            t0 = time.perf_counter()
        net.setInput(one)
        net.forward()
    lat = 1e3 * (time.perf_counter() - t0) / (iters * 10)
    return infer, lat, cv2.__version__


def bench_fer(fer, cfg, batch, threads, iters, extra=()):
    out = subprocess.run([fer, "bench", cfg, "-batch", str(batch), "-threads", str(threads), "-iters", str(iters),
                          *extra], check=True, capture_output=True, text=True).stdout
    vals = dict(re.findall(r"^(\w+): ([0-9.]+)$", out, re.M))
    return {k: float(v) for k, v in vals.items()}, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cfg")
    ap.add_argument("--fer", default="./fer")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--opencv-cfg")
    a = ap.parse_args()
    runs = []   # (label, numbers): fp32, and bf16 where the CPU has it
    for label, extra in (("fp32", ()), ("bf16", ("-bf16",))):
        try:
            fer, raw = bench_fer(a.fer, a.cfg, a.batch, a.threads, a.iters, extra)
        except subprocess.CalledProcessError as e:
            print("  fer %s: skipped (%s)" % (label, (e.stderr or "").strip().splitlines()[-1:] or e))
            continue
        runs.append((label, fer))
        if label == "fp32":
            print("fer %s batch %d threads %d (%s)" % (a.cfg, a.batch, a.threads,
                                                     re.search(r"^isa: (\w+)", raw, re.M).group(1)))
        print("  fer %s: train %7.1f img/s  infer %7.1f img/s  latency %6.2f ms (median %.2f)  peak RSS %.0f MB"
              % (label, fer["train_img_per_s"], fer["infer_img_per_s"], fer["latency_ms_batch1"],
                 fer.get("latency_ms_batch1_median", float("nan")), fer["peak_rss_mb"]))
    try:
        tt, ti, tl, ver = bench_torch(a.cfg, a.batch, a.threads, a.iters)
        print("  pytorch:  train %7.1f img/s  infer %7.1f img/s  latency %6.2f ms  (torch %s)" % (tt, ti, tl, ver))
        for label, fer in runs:
            print("  ratio fer %s / pytorch: train %.2fx  infer %.2fx"
                  % (label, fer["train_img_per_s"] / tt, fer["infer_img_per_s"] / ti))
    except ImportError as e:
        print("  pytorch: skipped (%s)" % e)
    try:
        oi, ol, ver = bench_opencv(a.opencv_cfg or a.cfg, a.batch, a.threads, a.iters)
        print("  opencv:   infer %7.1f img/s  latency %6.2f ms  (OpenCV %s dnn, %s)" % (oi, ol, ver, a.opencv_cfg or a.cfg))
        for label, fer in runs:
            print("  ratio fer %s / opencv: infer %.2fx  latency %.2fx"
                  % (label, fer["infer_img_per_s"] / oi, ol / fer["latency_ms_batch1"]))
    except ImportError as e:
        print("  opencv: skipped (%s)" % e)


if __name__ == "__main__":
    main()
