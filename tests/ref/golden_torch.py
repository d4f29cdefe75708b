#!/usr/bin/python3
"""golden_torch.py - compares one forward/backward pass of fer with PyTorch
autograd (tests/ref/fer_torch.py, computed in float64) on a cfg with random
weights, a random batch and random labels, in training mode (batch
statistics; fer's dropout masks re-applied) and in inference mode.

usage: golden_torch.py TOOL_GOLDEN CFG WORKDIR [--seed N] [--batch B] [--tol T] [--no-hints]

Near-ties (a max-pool window whose two largest values are within 1e-4, an
activation input within 1e-4 of a kink of relu, leaky, relu6, prelu, selu or
one of AlexeyAB's piecewise activations) make the subgradient depend on
float32 rounding; there the reference follows the branch fer's dumped layer
outputs show (see tests/ref/fer_torch.py), and the number of such places is
printed. --no-hints turns this off.

Checks the loss, the output, the input gradient, every parameter gradient in
.weights order (rolling statistics must have zero gradient) and the rolling
statistics after the forward pass. A tensor fails when its max abs error
exceeds TOL * max(1, max|ref|), TOL = 1e-4 unless --tol says otherwise (deep
networks whose training-mode batch norm sees few values per channel lose
more to float32 rounding; PyTorch's own float32 run strays further from the
float64 reference there); a trainable tensor whose reference gradient
is all zero fails too (the comparison would check nothing). Prints one table
row per tensor; exits 1 on any failure, 77 when torch is missing."""
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
except ImportError as ex:
    print("SKIP: /usr/bin/python3 has no %s (apt-get install python3-torch)" % (ex.name or ex))
    sys.exit(77)

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import fer_torch  # noqa: E402

TOL = 1e-4


def run_fer(tool, cfg, weights, inp, out, train):
    cmd = [tool, cfg, weights, inp, out] + (["train"] if train else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("tool_golden failed (exit %d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr))
        sys.exit(1)
    return np.fromfile(out, dtype="<f4"), np.fromfile(out + ".masks", dtype="<f4"), \
        np.fromfile(out + ".layers", dtype="<f4")


def split(buf, sizes):
    parts, pos = [], 0
    for n in sizes:
        parts.append(buf[pos:pos + n])
        pos += n
    if pos != buf.size:
        raise ValueError("fer wrote %d floats, expected %d" % (buf.size, pos))
    return parts


def main():
    global TOL
    args = sys.argv[1:]
    seed, batch = 1, 4
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if "--tol" in args:
        i = args.index("--tol")
        TOL = float(args[i + 1])
        del args[i:i + 2]
    if "--batch" in args:
        i = args.index("--batch")
        batch = int(args[i + 1])
        del args[i:i + 2]
    use_hints = "--no-hints" not in args
    if not use_hints:
        args.remove("--no-hints")
    if len(args) != 3:
        print(__doc__)
        return 2
    tool, cfg, work = args
    os.makedirs(work, exist_ok=True)
    torch.set_grad_enabled(True)
    name = os.path.splitext(os.path.basename(cfg))[0]

    net = fer_torch.FerNet(cfg)
    net.random_weights(seed)
    weights = os.path.join(work, name + ".weights")
    net.save_weights(weights)

    g = np.random.default_rng(seed + 1000)
    B = batch
    x = g.uniform(0, 1, (B, net.channels, net.height, net.width)).astype(np.float32)
    labels = g.integers(0, net.classes, B)
    truth = np.zeros((B, net.classes), np.float32)
    truth[np.arange(B), labels] = 1
    inp = os.path.join(work, name + ".in.bin")
    np.concatenate([x.ravel(), truth.ravel()]).astype("<f4").tofile(inp)

    failed = []
    print("%-5s %-40s %9s %11s %11s %11s  %s" % ("mode", "tensor", "n", "max|ref|", "max abs err",
                                                 "rel err", "status"))
    for train in (True, False):
        mode = "train" if train else "infer"
        out = os.path.join(work, "%s.%s.out.bin" % (name, mode))
        buf, mask_buf, layer_buf = run_fer(tool, cfg, weights, inp, out, train)

        ref_net = fer_torch.FerNet(cfg)
        ref_net.load_weights(weights)
        plist = ref_net.param_list()
        drawn = [l for l in ref_net.layers if l.kind in ("dropout", "crop")]
        masks = {}
        for l, m in zip(drawn, split(mask_buf, [3 if l.kind == "crop" else B * l.c * l.h * l.w for l in drawn])):
            masks[l.index] = torch.from_numpy(m.astype(np.float64))
            if l.kind == "crop":
                if train:
                    print("%-5s %-40s %9d  crop window at row %d, column %d, mirrored %d" % (
                        mode, "L%d crop window" % l.index, 3, m[0], m[1], m[2]))
            elif train and l.probability > 0:
                kept = float((m != 0).mean())
                print("%-5s %-40s %9d  dropout p=%.2f, fer kept %.3f of the values" % (
                    mode, "L%d dropout mask" % l.index, m.size, l.probability, kept))
                if not 0 < kept < 1:
                    failed.append("%s L%d dropout mask keeps %.3f" % (mode, l.index, kept))
        louts = split(layer_buf, [B * l.out_c * l.out_h * l.out_w for l in ref_net.layers])
        hints = None
        if use_hints:
            hints = [torch.from_numpy(o.astype(np.float64)).view(B, l.out_c, l.out_h, l.out_w)
                     for l, o in zip(ref_net.layers, louts)]
        ref = ref_net.run(torch.from_numpy(x.astype(np.float64)),
                          torch.from_numpy(truth.astype(np.float64)), train, masks, hints)
        hs = ref["hint_stats"]
        print("%-5s near-ties within %g: %d max-pool windows (fer chose another cell in %d), "
              "%d activation inputs at a kink (fer took the other side in %d)" % (
                  mode, ref_net.tau, hs["pool_near"], hs["pool_differs"], hs["kink_near"],
                  hs["kink_differs"]))

        sizes = [1, B * net.classes, B * net.inputs] + [t.numel() for _, _, t in plist] * 2
        parts = split(buf, sizes)
        rows = [("loss", parts[0], ref["loss"].reshape(1), True),
                ("output", parts[1], ref["output"], True),
                ("dinput", parts[2], ref["dinput"], True)]
        np_ = len(plist)
        kinds = {l.index: l.kind for l in ref_net.layers}
        for k, (li, pname, _) in enumerate(plist):
            label = "L%d %s d%s" % (li, kinds[li], pname)
            rows.append((label, parts[3 + k], ref["grads"][k], not pname.startswith("rolling_")))
        for k, (li, pname, _) in enumerate(plist):
            if pname.startswith("rolling_"):
                label = "L%d %s %s after fwd" % (li, kinds[li], pname)
                rows.append((label, parts[3 + np_ + k], ref["params"][k], False))

        for label, got, want, must_move in rows:
            want = want.detach().numpy().astype(np.float64).ravel()
            got = got.astype(np.float64)
            ref_max = float(np.abs(want).max()) if want.size else 0.0
            err = float(np.abs(got - want).max()) if want.size else 0.0
            if not np.all(np.isfinite(got)):
                err = float("inf")
            rel = err / ref_max if ref_max > 0 else (0.0 if err == 0 else float("inf"))
            status = "ok"
            if err > TOL * max(1.0, ref_max):
                status = "FAIL"
            elif must_move and ref_max == 0 and label != "loss":
                status = "FAIL (reference is all zero)"
            if status != "ok":
                failed.append("%s %s" % (mode, label))
            print("%-5s %-40s %9d %11.4g %11.4g %11.4g  %s" % (mode, label, want.size, ref_max, err, rel,
                                                               status))

        if any(f.startswith(mode) for f in failed):
            # point at the first layer whose output disagrees
            for l, got in zip(ref_net.layers, louts):
                want = ref["layers"][l.index].numpy().ravel()
                err = float(np.abs(got.astype(np.float64) - want).max())
                if err > TOL * max(1.0, float(np.abs(want).max())):
                    print("%s: first layer whose output disagrees: %d (%s), max abs err %.4g" % (
                        mode, l.index, l.kind, err))
                    break

    if failed:
        print("%s: %d tensors FAILED: %s" % (name, len(failed), ", ".join(failed)))
        return 1
    print("%s: all tensors within %g * max(1, max|ref|) of PyTorch (train and inference)" % (name, TOL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
