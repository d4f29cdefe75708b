#!/usr/bin/python3
"""golden_opencv.py - compares `fer classifier predict -json` with OpenCV's
Darknet importer (cv2.dnn.readNetFromDarknet) on real face images.

usage: golden_opencv.py FER CFG WORKDIR [SAMPLE_DIR] [--seed N] [--per-class K]
       golden_opencv.py quirks WORKDIR   (re-measure and print OpenCV's quirks)

Writes random weights for CFG with fer's file layout (tests/ref/fer_torch.py:
He-normal weights, biases N(0,0.1), BN scales U(0.5,1.5), rolling_mean
N(0,0.1), rolling_variance U(0.5,1.5)), converts K images per class of
SAMPLE_DIR/<class>/*.jpg to 8-bit PGM with cv2 (so that fer reads them
without stb, and both sides see the same pixels; synthetic PGMs when
SAMPLE_DIR is absent), and checks that fer's probabilities and OpenCV's agree
to max abs diff <= 1e-4. Exits 1 on a mismatch, 77 without cv2.

What OpenCV 4.6 does with a Darknet cfg (found by trying; see the cfgs in
tests/cfg/ for the quirks the test cfgs avoid):
  input: blobFromImage(gray, 1/255, (w, h), mean 0, swapRB=False) - a
    1-channel blob for a channels=1 net, pixels in [0, 1], NCHW; no scaling
    of its own.
  batch norm: eps 1e-6 inside the sqrt (fer, like PyTorch: 1e-5). With
    rolling variances in [0.5, 1.5] the probabilities move by ~1e-6, far
    below the 1e-4 tolerance, while batch norm still changes every value;
    the script prints the size of the effect against the PyTorch reference.
  [maxpool]: Darknet geometry (pad floor(p/2) before, ceil(p/2) after).
  [connected] with batch_normalize=1: NaN - it reads the BN tensors in the
    convolutional order, see tests/cfg/shallow_nobn_dense.cfg.
  [softmax] is needed at the end for probabilities; its temperature is
    ignored. [dropout] and [cost] are identities ([dropout] cannot be the
    first layer).
"""
import glob
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import cv2
except ImportError as ex:
    print("SKIP: /usr/bin/python3 has no %s (apt-get install python3-opencv)" % (ex.name or ex))
    sys.exit(77)

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
try:
    import fer_torch  # noqa: E402  (parses the cfg, writes the weights, the PyTorch reference)
except ImportError as ex:
    print("SKIP: tests/ref/fer_torch.py needs %s, which /usr/bin/python3 lacks (apt-get install python3-torch)"
          % (ex.name or ex))
    sys.exit(77)

TOL = 1e-4


def make_images(net, sample_dir, per_class, work, seed):
    """Returns [(pgm path, uint8 image [h, w])]."""
    out = []
    jpgs = []
    if sample_dir and os.path.isdir(sample_dir):
        for cls in sorted(os.listdir(sample_dir)):
            jpgs += sorted(glob.glob(os.path.join(sample_dir, cls, "*.jpg")))[:per_class]
    for path in jpgs:
        img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if img is None:
            continue
        if img.shape != (net.height, net.width):
            img = cv2.resize(img, (net.width, net.height), interpolation=cv2.INTER_AREA)
        name = os.path.basename(os.path.dirname(path)) + "_" + os.path.splitext(os.path.basename(path))[0]
        out.append((os.path.join(work, name + ".pgm"), img))
    if not out:
        print("no images under %s: using synthetic test patterns" % sample_dir)
        g = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:net.height, 0:net.width]
        for i in range(8):
            base = 128 + 100 * np.sin(xx / (3 + i) + i) * np.cos(yy / (4 + i))
            img = np.clip(base + g.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
            out.append((os.path.join(work, "synthetic_%d.pgm" % i), img))
    for path, img in out:
        if not cv2.imwrite(path, img):
            raise OSError("cannot write " + path)
    return out


def fer_probs(fer, cfg, weights, paths):
    cmd = [fer, "classifier", "predict", cfg, weights] + paths + ["-json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("fer failed (exit %d): %s\n%s" % (r.returncode, " ".join(cmd[:5]) + " ...", r.stderr))
        sys.exit(1)
    probs = {}
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        face = rec["faces"][0]   # a face crop: one face, the whole image
        probs[rec["image"]] = np.array(list(face["probs"].values()), dtype=np.float64)
    missing = [p for p in paths if p not in probs]
    if missing:
        print("fer printed no result for %s" % missing)
        sys.exit(1)
    return np.stack([probs[p] for p in paths])


def opencv_probs(cfg, weights, imgs, w, h):
    net = cv2.dnn.readNetFromDarknet(cfg, weights)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    blob = cv2.dnn.blobFromImages(imgs, 1.0 / 255, (w, h), 0, swapRB=False, crop=False)
    net.setInput(blob)
    return net.forward().reshape(len(imgs), -1).astype(np.float64)


def torch_probs(net, imgs, eps):
    """The PyTorch reference (tests/ref/fer_torch.py) with batch-norm eps `eps`."""
    import torch
    x = torch.from_numpy(np.stack(imgs).astype(np.float64)[:, None] / 255.0)
    old = fer_torch.BN_EPS
    fer_torch.BN_EPS = eps
    with torch.no_grad():
        out, _, _ = net.forward(x)
    fer_torch.BN_EPS = old
    return out.reshape(len(imgs), -1).numpy()


def quirks(work):
    """Re-measures the OpenCV quirks the test cfgs avoid and prints them;
    informational, never fails."""
    import torch
    g = np.random.default_rng(5)
    x = g.uniform(0, 1, (2, 1, 8, 8)).astype(np.float32)

    def build(tag, body, var_range=None):
        path = os.path.join(work, "quirk_%s.cfg" % tag)
        with open(path, "w") as f:
            f.write("[net]\nwidth=8\nheight=8\nchannels=1\n" + body)
        net = fer_torch.FerNet(path)
        net.random_weights(5)
        for _, n, t in net.param_list():
            if n == "rolling_variance" and var_range:
                t.copy_(torch.from_numpy(g.uniform(*var_range, t.numel()).astype(np.float32).astype(np.float64)))
        weights = os.path.join(work, "quirk_%s.weights" % tag)
        net.save_weights(weights)
        return path, weights, net

    def cv_out(path, weights):
        cvnet = cv2.dnn.readNetFromDarknet(path, weights)
        cvnet.setInput(x)
        return cvnet.forward().reshape(2, -1).astype(np.float64)

    def ref_out(net, eps):
        old = fer_torch.BN_EPS
        fer_torch.BN_EPS = eps
        with torch.no_grad():
            out, _, _ = net.forward(torch.from_numpy(x.astype(np.float64)))
        fer_torch.BN_EPS = old
        return out.reshape(2, -1).numpy()

    conv = "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=linear\n"
    path, weights, net = build("bn_eps", conv, (1e-4, 3e-4))
    out = cv_out(path, weights)
    print("quirk: batch norm with rolling_variance ~2e-4: max|opencv - ref(eps 1e-6)| %.3g, "
          "max|opencv - ref(eps 1e-5)| %.3g -> OpenCV's eps is %s" % (
              np.abs(out - ref_out(net, 1e-6)).max(), np.abs(out - ref_out(net, 1e-5)).max(),
              "1e-6" if np.abs(out - ref_out(net, 1e-6)).max() < np.abs(out - ref_out(net, 1e-5)).max()
              else "not 1e-6"))
    dense = "[connected]\noutput=5\nbatch_normalize=1\nactivation=linear\n"
    path, weights, net = build("dense_bn", dense)
    out = cv_out(path, weights)
    print("quirk: [connected] batch_normalize=1 with a Darknet-order file: OpenCV gives %s" % (
        "NaN" if np.isnan(out).any() else "finite values, max|opencv - ref(eps 1e-6)| %.3g"
        % np.abs(out - ref_out(net, 1e-6)).max()))
    l = net.layers[0]
    with open(weights, "wb") as f:   # the same tensors in the convolutional order
        f.write(np.array([0, 2, 5], "<i4").tobytes() + np.array([0], "<u8").tobytes())
        for n in ("biases", "scales", "rolling_mean", "rolling_variance", "weights"):
            f.write(l.p(n).numpy().astype("<f4").tobytes())
    out = cv_out(path, weights)
    print("quirk: the same file with the BN tensors in the convolutional order: max|opencv - ref(eps 1e-6)| %.3g"
          " (OpenCV reads [connected] like [convolutional])" % np.abs(out - ref_out(net, 1e-6)).max())
    return 0


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "quirks":
        os.makedirs(args[1], exist_ok=True)
        return quirks(args[1])
    seed, per_class = 7, 3
    for flag in ("--seed", "--per-class"):
        if flag in args:
            i = args.index(flag)
            if flag == "--seed":
                seed = int(args[i + 1])
            else:
                per_class = int(args[i + 1])
            del args[i:i + 2]
    if len(args) not in (3, 4):
        print(__doc__)
        return 2
    fer, cfg, work = args[:3]
    sample_dir = args[3] if len(args) == 4 else None
    os.makedirs(work, exist_ok=True)
    name = os.path.splitext(os.path.basename(cfg))[0]

    net = fer_torch.FerNet(cfg)
    net.random_weights(seed)
    weights = os.path.join(work, name + ".weights")
    net.save_weights(weights)
    images = make_images(net, sample_dir, per_class, work, seed)
    paths = [p for p, _ in images]
    imgs = [img for _, img in images]

    got = fer_probs(fer, cfg, weights, paths)
    try:
        ref = opencv_probs(cfg, weights, imgs, net.width, net.height)
    except cv2.error as ex:
        print("OpenCV cannot run %s: %s" % (cfg, str(ex).strip().splitlines()[-1]))
        return 1
    if ref.shape != got.shape:
        print("shape mismatch: fer %s, OpenCV %s" % (got.shape, ref.shape))
        return 1
    err = np.abs(got - ref)
    worst = float(err.max()) if np.all(np.isfinite(ref)) and np.all(np.isfinite(got)) else float("inf")
    print("%-32s %-9s %-41s %s" % ("image", "top1 fer/cv", "fer probabilities", "max|fer-opencv|"))
    for i, path in enumerate(paths):
        print("%-32s %-4d %-6d %-41s %.3g" % (os.path.basename(path)[:32], int(got[i].argmax()),
                                              int(ref[i].argmax()),
                                              " ".join("%.3f" % v for v in got[i]), float(err[i].max())))
    print("%s: %d images, max|p| mean %.3f (not saturated when well below 1), top-1 agreement %d/%d" % (
        name, len(paths), float(got.max(axis=1).mean()), int((got.argmax(1) == ref.argmax(1)).sum()), len(paths)))

    t5 = torch_probs(net, imgs, 1e-5)
    t6 = torch_probs(net, imgs, 1e-6)
    print("%s: batch-norm eps: max|fer - torch(eps 1e-5)| %.3g, max|opencv - torch(eps 1e-6)| %.3g, "
          "max|opencv - torch(eps 1e-5)| %.3g" % (name, float(np.abs(got - t5).max()),
                                                  float(np.abs(ref - t6).max()), float(np.abs(ref - t5).max())))
    if not worst <= TOL:
        print("%s: FAIL: max abs difference fer vs OpenCV %.3g > %g" % (name, worst, TOL))
        return 1
    print("%s: fer matches OpenCV's Darknet importer: max abs diff %.3g <= %g" % (name, worst, TOL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
