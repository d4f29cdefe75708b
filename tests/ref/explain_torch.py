#!/usr/bin/python3
"""explain_torch.py - checks fer's saliency map and Grad-CAM against PyTorch
autograd (tests/ref/fer_torch.py, float64) on the same network and weights.

usage: explain_torch.py TOOL_EXPLAIN CFG WEIGHTS INPUT WORKDIR [--class K] [--layer L]

Runs TOOL_EXPLAIN (tests/tools/tool_explain.c) on INPUT (an image, or a .bin of
float32 [c, h, w]), then recomputes from the input fer saw:
  score_K    the output of the layer feeding the last [softmax], class K
  dinput     d score_K / d input            (autograd)
  saliency   max over channels of |dinput|
  weights    mean over (y, x) of d score_K / d A, A = layer L's output (autograd)
  cam        ReLU(sum_k weights_k A_k)
  cam_input  cam resized to the input by F.interpolate(bilinear, align_corners=False)
Each must agree within 1e-4 * max|ref| (max abs error); a reference that is
all zero fails too (nothing would be checked). Near-ties at max-pool windows
and activation kinks follow fer's layer outputs (see tests/ref/fer_torch.py).
Prints one row per tensor with the errors; exits 1 on failure, 77 without
torch."""
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as ex:
    print("SKIP: /usr/bin/python3 has no %s (apt-get install python3-torch)" % (ex.name or ex))
    sys.exit(77)

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import fer_torch  # noqa: E402

TOL = 1e-4


def main():
    args = sys.argv[1:]
    cls, layer = -1, -1
    for flag in ("--class", "--layer"):
        if flag in args:
            i = args.index(flag)
            v = int(args[i + 1])
            del args[i:i + 2]
            if flag == "--class":
                cls = v
            else:
                layer = v
    if len(args) != 5:
        print(__doc__)
        return 2
    tool, cfg, weights, inp, work = args
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, os.path.basename(cfg) + ".explain.bin")
    cmd = [tool, cfg, weights, inp, out, str(cls), str(layer)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("tool_explain failed (exit %d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr))
        return 1
    meta = open(out + ".txt").read().split()
    meta = {meta[i]: int(meta[i + 1]) for i in range(0, len(meta), 2)}
    K, L, S = meta["class"], meta["layer"], meta["score_layer"]
    c, h, w, lc, lh, lw = meta["c"], meta["h"], meta["w"], meta["lc"], meta["lh"], meta["lw"]

    net = fer_torch.FerNet(cfg)
    net.load_weights(weights)
    C = net.classes
    n = c * h * w
    sizes = [n, C, C, n, h * w, lc, lh * lw, h * w]
    buf = np.fromfile(out, dtype="<f4")
    if buf.size != sum(sizes):
        print("tool_explain wrote %d floats, expected %d" % (buf.size, sum(sizes)))
        return 1
    parts, pos = [], 0
    for k in sizes:
        parts.append(buf[pos:pos + k].astype(np.float64))
        pos += k
    x_in, scores, probs, dinput, saliency, cam_w, cam, cam_input = parts
    louts = np.fromfile(out + ".layers", dtype="<f4")
    hints, pos = [], 0
    for l in net.layers:
        k = l.out_c * l.out_h * l.out_w
        hints.append(torch.from_numpy(louts[pos:pos + k].astype(np.float64)).view(1, l.out_c, l.out_h, l.out_w))
        pos += k

    torch.set_grad_enabled(True)
    x = torch.from_numpy(x_in.copy()).view(1, c, h, w).requires_grad_(True)
    y, _, outs = net.forward(x, train=False, keep=True, hints=hints)
    score = outs[S].reshape(-1)[K]
    A = outs[L]
    dx, dA = torch.autograd.grad(score, [x, A])
    ref_dinput = dx.reshape(-1)
    ref_sal = dx.abs().amax(dim=1).reshape(-1)
    ref_w = dA[0].mean(dim=(1, 2))
    ref_cam = F.relu((ref_w.view(-1, 1, 1) * A[0].detach()).sum(0))
    ref_cam_in = F.interpolate(ref_cam.view(1, 1, lh, lw), size=(h, w), mode="bilinear", align_corners=False).reshape(-1)
    hs = net.hint_stats
    print("%s: class %d, Grad-CAM layer %d (%s, %dx%dx%d), scores from layer %d; near-ties followed: %d pool, %d kink" % (
        os.path.basename(cfg), K, L, net.layers[L].kind, lw, lh, lc, S, hs["pool_differs"], hs["kink_differs"]))

    rows = [("scores", scores, outs[S].reshape(-1)), ("probs", probs, y.reshape(-1)),
            ("dinput (d score/d input)", dinput, ref_dinput), ("saliency", saliency, ref_sal),
            ("Grad-CAM weights", cam_w, ref_w), ("Grad-CAM map", cam, ref_cam.reshape(-1)),
            ("Grad-CAM at input size", cam_input, ref_cam_in)]
    failed = []
    print("%-28s %8s %12s %12s %12s  %s" % ("tensor", "n", "max|ref|", "max abs err", "rel err", "status"))
    for name, got, want in rows:
        want = want.detach().numpy().astype(np.float64).ravel()
        ref_max = float(np.abs(want).max())
        err = float(np.abs(got - want).max()) if np.all(np.isfinite(got)) else float("inf")
        rel = err / ref_max if ref_max > 0 else float("inf")
        status = "ok"
        if ref_max == 0:
            status = "FAIL (reference is all zero)"
        elif err > TOL * ref_max:
            status = "FAIL"
        if status != "ok":
            failed.append(name)
        print("%-28s %8d %12.4g %12.4g %12.4g  %s" % (name, want.size, ref_max, err, rel, status))
    if failed:
        print("FAILED: %s" % ", ".join(failed))
        return 1
    print("saliency and Grad-CAM match PyTorch within %g relative" % TOL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
