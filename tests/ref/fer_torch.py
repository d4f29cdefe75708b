#!/usr/bin/python3
"""fer_torch.py - an independent PyTorch implementation of fer's networks.

Reads a fer (Darknet-dialect) cfg file, builds the same network out of
torch.nn.functional operations, loads and writes fer/Darknet .weights files,
and runs forward and backward passes with autograd. The golden tests
(tests/ref/golden_torch.py) compare fer's numbers with these.

Nothing here is shared with fer's C code: the layer semantics follow fer's
documentation (README, cfg comments, src/layers/*.c headers):
  tensors NCHW; [convolutional] (groups, size_h/size_w, stride_x/stride_y, dilation,
  pad=1 -> size/2 padding, padding=N, batch_normalize; default activation
  logistic); [connected] (flattened input, default activation logistic);
  [maxpool] with Darknet's geometry out = (in + padding - size)/stride + 1,
  padding defaulting to size-1, windows starting at -padding/2, cells outside
  the input ignored; [local_avgpool] the same geometry, the mean of the
  cells inside the input; [avgpool] global average; [dropout] inverted dropout;
  [batchnorm]; [shortcut] out = act(prev + layer[from]); [route] channel
  concatenation; [softmax] softmax(x / temperature), the last one being the
  loss layer: cross-entropy against (1-ls)*y + ls/C, mean over the batch;
  [cost] identity. Darknet's dialect (written from Darknet's sources, not
  fer's): [shortcut] between other shapes (pjreddie's shortcut_cpu: the
  first min(C) channels, a larger source sampled with stride W_from/W, a
  smaller one landing on every (W/W_from)-th cell), several `from` layers
  and weights_type per_feature/per_channel (AlexeyAB's); [route] groups and
  group_id; [crop] (x*2-1, the centre window at inference, a random window
  and flip in training that fer reports); [scale_channels]; [upsample]
  (negative stride: block sums); [reorg] and [reorg3d] (reorg_cpu's index
  formula, old and 3d flavours); AlexeyAB's hard_mish, hardtan, lhtan,
  plse, stair, ramp, loggy, relie; [net] label_smooth_eps.
  Batch norm uses eps 1e-5, the biased batch variance to
  normalize and the unbiased one for the rolling update (momentum
  [net] bn_momentum, default 0.01).

Weights file: int32 major, minor, revision; uint64 seen (uint32 when
major*10+minor < 2); then per layer, float32:
  convolutional: biases, [scales, rolling_mean, rolling_variance], weights
  connected:     biases, weights, [scales, rolling_mean, rolling_variance]
  batchnorm:     biases, scales, rolling_mean, rolling_variance
  shortcut:      weights [n+1] or [(n+1)*C] (weights_type)
  and, with activation=prelu, slope[channels] after the layer's tensors.
With batch_normalize=1 there is no separate bias: 'biases' is the BN shift.

Usage as a program (for poking at a model by hand):
  /usr/bin/python3 tests/ref/fer_torch.py summary CFG
  /usr/bin/python3 tests/ref/fer_torch.py randweights CFG OUT.weights [SEED]
  /usr/bin/python3 tests/ref/fer_torch.py predict CFG WEIGHTS IMAGE.pgm...
"""
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

ACTIVATIONS = ("linear", "relu", "leaky", "relu6", "logistic", "tanh", "elu",
               "selu", "swish", "mish", "gelu", "prelu", "hard_mish", "hardtan", "lhtan",
               "plse", "stair", "ramp", "loggy", "relie")
LAYER_TYPES = {"convolutional": "convolutional", "conv": "convolutional",
               "connected": "connected", "fc": "connected", "conn": "connected",
               "maxpool": "maxpool", "max": "maxpool",
               "avgpool": "avgpool", "avg": "avgpool", "local_avgpool": "local_avgpool",
               "local_avg": "local_avgpool",
               "dropout": "dropout", "batchnorm": "batchnorm",
               "shortcut": "shortcut", "route": "route",
               "softmax": "softmax", "soft": "softmax", "cost": "cost",
               "crop": "crop", "scale_channels": "scale_channels", "upsample": "upsample",
               "reorg": "reorg", "reorg3d": "reorg3d"}
BN_EPS = 1e-5


def parse_cfg(path):
    """Returns [(section_name, {key: value}), ...] from a cfg file."""
    sections = []
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line[0] == "[":
                if not line.endswith("]"):
                    raise ValueError("%s:%d: malformed section header" % (path, lineno))
                sections.append((line[1:-1].strip().lower(), {}))
                continue
            if not sections or "=" not in line:
                raise ValueError("%s:%d: expected key=value" % (path, lineno))
            key, value = line.split("=", 1)
            for c in "#;":
                value = value.split(c, 1)[0]
            sections[-1][1][key.strip()] = value.strip()
    return sections


def activate(name, x, slope=None):
    if name == "linear":
        return x
    if name == "relu":
        return F.relu(x)
    if name == "leaky":
        return F.leaky_relu(x, 0.1)
    if name == "relu6":
        return F.hardtanh(x, 0.0, 6.0)
    if name == "logistic":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "elu":
        return F.elu(x, 1.0)
    if name == "selu":
        return F.selu(x)
    if name == "swish":
        return x * torch.sigmoid(x)
    if name == "mish":
        return x * torch.tanh(F.softplus(x))
    if name == "gelu":
        return F.gelu(x)   # exact erf form
    if name == "prelu":
        return F.prelu(x, slope.view(-1))
    if name == "loggy":
        return 2 * torch.sigmoid(x) - 1
    if name in PIECEWISE:
        return PIECEWISE[name][3](x, PIECEWISE[name][1](x.detach()))
    raise ValueError("unknown activation " + name)


# AlexeyAB's piecewise activations (src/activations.h): for each, the
# distance from x to its nearest kink, the piece x lies on, the piece an
# output value y comes from (Darknet computes the derivative from y), and
# the value on a given piece. The piece is chosen explicitly so that, near a
# kink, the branch fer took (read from its output) can be followed.
def _where3(p, a, b, c):
    return torch.where(p == 0, a, torch.where(p == 1, b, c))


def _stair(x, k):
    """Darknet's stair on piece k = floor(x): flat floor(k/2) for even k, slope 1 for odd k."""
    half = torch.floor(k / 2)
    return torch.where(torch.remainder(k, 2) == 0, half + 0 * x, (x - k) + half)


PIECEWISE = {
    "hard_mish": (lambda x: (x + 2).abs(),
                  lambda x: (x > -2).long() + (x > 0).long(),
                  lambda y: (y != 0).long() + (y > 0).long(),
                  lambda x, p: _where3(p, 0 * x, x * x / 2 + x, x)),
    "hardtan": (lambda x: torch.minimum((x + 1).abs(), (x - 1).abs()),
                lambda x: (x > -1).long() + (x >= 1).long(),
                lambda y: (y > -1).long() + (y >= 1).long(),
                lambda x, p: _where3(p, 0 * x - 1, x, 0 * x + 1)),
    "lhtan": (lambda x: torch.minimum(x.abs(), (x - 1).abs()),
              lambda x: (x >= 0).long() + (x > 1).long(),
              lambda y: (y >= 0).long() + (y > 1).long(),
              lambda x, p: _where3(p, 0.001 * x, x, 0.001 * (x - 1) + 1)),
    "plse": (lambda x: torch.minimum((x + 4).abs(), (x - 4).abs()),
             lambda x: (x >= -4).long() + (x > 4).long(),
             lambda y: (y >= 0).long() + (y > 1).long(),
             lambda x, p: _where3(p, 0.01 * (x + 4), 0.125 * x + 0.5, 0.01 * (x - 4) + 1)),
    "stair": (lambda x: (x - torch.round(x)).abs(),
              torch.floor,
              lambda y: torch.where(torch.floor(y) == y, 2 * y, 2 * torch.floor(y) + 1),
              _stair),
    "ramp": (lambda x: x.abs(),
             lambda x: (x > 0).long(),
             lambda y: (y > 0).long(),
             lambda x, p: torch.where(p == 1, 1.1 * x, 0.1 * x)),
    "relie": (lambda x: x.abs(),
              lambda x: (x > 0).long(),
              lambda y: (y > 0).long(),
              lambda x, p: torch.where(p == 1, x, 0.01 * x)),
}


# Activations whose derivative jumps at 0 (relu6 also at 6).
KINKED = ("relu", "leaky", "relu6", "prelu", "selu")
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def activate_hinted(name, x, slope, hint, tau, stats):
    """activate() whose derivative branch, where x lies within tau of a kink,
    follows `hint` (the same layer's output as computed elsewhere, e.g. by
    fer) instead of x's own sign. There both branches give the same value to
    within tau, so the output is unchanged, but the subgradient is the one the
    other implementation took: a float32 rounding that moves x across the kink
    does not then make every gradient below differ."""
    if hint is not None and name in PIECEWISE:
        dist, piece_x, piece_y, value = PIECEWISE[name]
        near = dist(x.detach()) <= tau
        px, py = piece_x(x.detach()), piece_y(hint)
        stats["kink_near"] += int(near.sum())
        stats["kink_differs"] += int((near & (px != py)).sum())
        return value(x, torch.where(near, py, px))
    if hint is None or name not in KINKED:
        return activate(name, x, slope)
    pos = x > 0
    near = x.detach().abs() <= tau
    hint_pos = hint > 0
    if name == "relu6":
        near6 = (x.detach() - 6).abs() <= tau * 6
        inside = (x > 0) & (x < 6)
        hint_inside = (hint > 0) & (hint < 6)
        both = near | near6
        stats["kink_near"] += int(both.sum())
        stats["kink_differs"] += int((both & (inside != hint_inside)).sum())
        inside = torch.where(both, hint_inside, inside)
        return torch.where(inside, x, torch.where(x >= 3, torch.full_like(x, 6.0), torch.zeros_like(x)))
    stats["kink_near"] += int(near.sum())
    stats["kink_differs"] += int((near & (pos != hint_pos)).sum())
    pos = torch.where(near, hint_pos, pos)
    if name == "relu":
        neg = torch.zeros_like(x)
    elif name == "leaky":
        neg = 0.1 * x
    elif name == "prelu":
        neg = slope.view(1, -1, *([1] * (x.dim() - 2))) * x
    else:  # selu
        # clamped so that exp() of a large positive x (the branch not taken)
        # cannot turn the masked-out gradient into 0 * inf = nan
        return torch.where(pos, SELU_SCALE * x, SELU_SCALE * SELU_ALPHA * torch.expm1(torch.clamp(x, max=1.0)))
    return torch.where(pos, x, neg)


class Layer:
    """One layer: its kind, settings, output shape and parameter tensors in
    .weights order as (name, tensor) pairs."""

    def __init__(self, index, kind, opts):
        self.index, self.kind, self.opts = index, kind, opts
        self.params = []
        self.act = "linear"
        self.sources = []

    def geti(self, key, default):
        return int(self.opts.get(key, default))

    def getf(self, key, default):
        return float(self.opts.get(key, default))

    def add(self, name, shape):
        self.params.append((name, torch.zeros(shape, dtype=torch.float64)))

    def p(self, name):
        for n, t in self.params:
            if n == name:
                return t
        return None


class FerNet:
    """A fer network in PyTorch. Parameters are float64 by default (an exact
    reference); call .to(torch.float32) for fer's precision."""

    def __init__(self, cfg_path):
        sections = parse_cfg(cfg_path)
        if not sections or sections[0][0] not in ("net", "network"):
            raise ValueError("%s: the first section must be [net]" % cfg_path)
        net = sections[0][1]
        self.width, self.height = int(net["width"]), int(net["height"])
        self.channels = int(net["channels"])
        crop = int(net.get("crop", 0))
        if crop:
            self.width = self.height = crop
        self.label_smoothing = float(net.get("label_smoothing", 0))
        self.label_smooth_eps = float(net.get("label_smooth_eps", 0))
        self.bn_momentum = float(net.get("bn_momentum", 0.01))
        self.layers = []
        c, h, w = self.channels, self.height, self.width
        for i, (name, opts) in enumerate(sections[1:]):
            if name not in LAYER_TYPES:
                raise ValueError("%s: unknown section [%s]" % (cfg_path, name))
            l = Layer(i, LAYER_TYPES[name], opts)
            l.c, l.h, l.w = c, h, w
            getattr(self, "_make_" + l.kind)(l)
            if "activation" in opts or l.kind in ("convolutional", "connected"):
                l.act = opts.get("activation", "logistic")
                if l.act == "sigmoid":
                    l.act = "logistic"
                if l.act not in ACTIVATIONS:
                    raise ValueError("layer %d: unknown activation %s" % (i, l.act))
                if l.act == "prelu":
                    l.add("prelu_slope", (l.out_c,))
                    l.p("prelu_slope").fill_(0.25)
            self.layers.append(l)
            c, h, w = l.out_c, l.out_h, l.out_w
        self.loss_layer = max((l.index for l in self.layers if l.kind == "softmax"), default=-1)
        self.classes = c * h * w
        self.inputs = self.channels * self.height * self.width
        self.tau = 1e-4
        self.hint_stats = {}

    # ---- layer construction: output shape and parameters --------------------
    def _make_convolutional(self, l):
        size = l.geti("size", 1)
        l.kh, l.kw = l.geti("size_h", size), l.geti("size_w", size)
        stride = l.geti("stride", 1)
        l.sh, l.sw = l.geti("stride_y", stride), l.geti("stride_x", stride)
        pad, padding = l.geti("pad", 0), l.geti("padding", 0)
        l.ph, l.pw = (l.kh // 2, l.kw // 2) if pad else (padding, padding)
        # dilation (AlexeyAB): taps d apart, the padding multiplied by d, and
        # the output sized as if undilated (fer accepts only the paddings for
        # which both sizes agree, so the size below uses the dilated extent)
        d = l.geti("dilation", 1)
        l.dh, l.dw = (d if l.kh > 1 else 1), (d if l.kw > 1 else 1)
        l.ph, l.pw = l.ph * l.dh, l.pw * l.dw
        l.groups = l.geti("groups", 1)
        l.bn = l.geti("batch_normalize", 0) != 0
        filters = l.geti("filters", 1)
        l.out_c = filters
        l.out_h = (l.h + 2 * l.ph - (l.dh * (l.kh - 1) + 1)) // l.sh + 1
        l.out_w = (l.w + 2 * l.pw - (l.dw * (l.kw - 1) + 1)) // l.sw + 1
        l.add("biases", (filters,))
        if l.bn:
            l.add("scales", (filters,))
            l.add("rolling_mean", (filters,))
            l.add("rolling_variance", (filters,))
        l.add("weights", (filters, l.c // l.groups, l.kh, l.kw))

    def _make_connected(self, l):
        out = l.geti("output", 1)
        l.bn = l.geti("batch_normalize", 0) != 0
        l.out_c, l.out_h, l.out_w = out, 1, 1
        l.add("biases", (out,))
        l.add("weights", (out, l.c * l.h * l.w))
        if l.bn:
            l.add("scales", (out,))
            l.add("rolling_mean", (out,))
            l.add("rolling_variance", (out,))

    def _make_maxpool(self, l):
        l.size = l.geti("size", 2)
        stride = l.geti("stride", l.size)
        l.sw, l.sh = l.geti("stride_x", stride), l.geti("stride_y", stride)
        l.padding = l.geti("padding", l.size - 1)
        l.out_c = l.c
        l.out_h = (l.h + l.padding - l.size) // l.sh + 1
        l.out_w = (l.w + l.padding - l.size) // l.sw + 1

    def _make_local_avgpool(self, l):
        self._make_maxpool(l)   # the same keys and geometry

    def _make_avgpool(self, l):
        l.out_c, l.out_h, l.out_w = l.c, 1, 1

    def _same_shape(self, l):
        l.out_c, l.out_h, l.out_w = l.c, l.h, l.w

    def _make_dropout(self, l):
        l.probability = l.getf("probability", 0.5)
        self._same_shape(l)

    def _make_batchnorm(self, l):
        self._same_shape(l)
        for name in ("biases", "scales", "rolling_mean", "rolling_variance"):
            l.add(name, (l.c,))
        l.bn = True

    def _ref(self, l, r):
        a = l.index + r if r < 0 else r
        if not 0 <= a < l.index:
            raise ValueError("layer %d: bad reference %d" % (l.index, r))
        return a

    def _make_shortcut(self, l):
        l.sources = [self._ref(l, int(v)) for v in l.opts["from"].split(",")]
        for s in l.sources:
            src = self.layers[s]
            if (src.out_w, src.out_h) != (l.w, l.h):
                stride, sample = max(1, src.out_w // l.w), max(1, l.w // src.out_w)
                if (stride, sample) != (max(1, src.out_h // l.h), max(1, l.h // src.out_h)) or len(l.sources) > 1:
                    raise ValueError("layer %d: Darknet cannot add these shapes" % l.index)
        l.weights_type = l.opts.get("weights_type", "none")
        if l.weights_type == "per_layer":
            l.weights_type = "per_feature"
        n = len(l.sources) + 1
        if l.weights_type == "per_feature":
            l.add("weights", (n,))
        elif l.weights_type == "per_channel":
            l.add("weights", (n * l.c,))
        self._same_shape(l)

    def _make_route(self, l):
        l.sources = [self._ref(l, int(v)) for v in l.opts["layers"].split(",")]
        l.groups, l.group_id = l.geti("groups", 1), l.geti("group_id", 0)
        srcs = [self.layers[s] for s in l.sources]
        l.out_h, l.out_w = srcs[0].out_h, srcs[0].out_w
        if any((s.out_h, s.out_w) != (l.out_h, l.out_w) for s in srcs):
            raise ValueError("layer %d: route sizes differ" % l.index)
        l.out_c = sum(s.out_c // l.groups for s in srcs)

    def _make_crop(self, l):
        l.out_c, l.out_h, l.out_w = l.c, l.geti("crop_height", 1), l.geti("crop_width", 1)
        l.flip = l.geti("flip", 0)
        l.adjust = (1.0, 0.0) if l.geti("noadjust", 0) else (2.0, -1.0)

    def _make_scale_channels(self, l):
        l.sources = [self._ref(l, int(l.opts["from"]))]
        src = self.layers[l.sources[0]]
        l.out_c, l.out_h, l.out_w = src.out_c, src.out_h, src.out_w

    def _make_upsample(self, l):
        stride = l.geti("stride", 2)
        l.scale = l.getf("scale", 1)
        l.down, l.s = stride < 0, abs(stride)
        l.out_c = l.c
        l.out_h, l.out_w = (l.h // l.s, l.w // l.s) if l.down else (l.h * l.s, l.w * l.s)

    def _make_reorg(self, l):
        l.s, reverse = l.geti("stride", 1), l.geti("reverse", 0)
        s2 = l.s * l.s
        l.out_c, l.out_h, l.out_w = (l.c // s2, l.h * l.s, l.w * l.s) if reverse else (l.c * s2, l.h // l.s, l.w // l.s)
        # reorg_cpu's direction and the dimensions Darknet calls it with
        l.reorg_forward = reverse
        l.reorg_dims = (l.out_w, l.out_h, l.out_c) if l.kind == "reorg3d" else (l.w, l.h, l.c)

    def _make_reorg3d(self, l):
        self._make_reorg(l)

    def _make_softmax(self, l):
        l.temperature = l.getf("temperature", 1)
        n = l.c * l.h * l.w
        default = self.label_smoothing
        if self.label_smooth_eps > 0:
            # Darknet's targets 1-eps and eps/(n-1) are (1-s)*y + s/n with s = eps*n/(n-1)
            default = self.label_smooth_eps * n / (n - 1)
        l.label_smoothing = l.getf("label_smoothing", default)
        l.out_c, l.out_h, l.out_w = l.c * l.h * l.w, 1, 1

    def _make_cost(self, l):
        self._same_shape(l)

    # ---- parameters ------------------------------------------------------------
    def param_list(self):
        """[(layer index, name, tensor)] in .weights order."""
        return [(l.index, n, t) for l in self.layers for n, t in l.params]

    def to(self, dtype):
        for l in self.layers:
            l.params = [(n, t.detach().to(dtype)) for n, t in l.params]
        return self

    def trainable(self):
        return [t for _, n, t in self.param_list() if not n.startswith("rolling_")]

    def load_weights(self, path):
        with open(path, "rb") as f:
            data = f.read()
        major, minor, _rev = struct.unpack_from("<3i", data, 0)
        off = 12 + (8 if major * 10 + minor >= 2 else 4)
        floats = np.frombuffer(data, dtype="<f4", offset=off)
        pos = 0
        for _, _, t in self.param_list():
            n = t.numel()
            if pos + n > floats.size:
                raise ValueError("%s: too short for this cfg" % path)
            t.copy_(torch.from_numpy(floats[pos:pos + n].astype(np.float64)).view(t.shape))
            pos += n
        if pos != floats.size:
            raise ValueError("%s: %d floats left over: weights for another cfg?" % (path, floats.size - pos))

    def save_weights(self, path, seen=0):
        with open(path, "wb") as f:
            f.write(struct.pack("<3iQ", 0, 2, 5, seen))
            for _, _, t in self.param_list():
                f.write(t.detach().to(torch.float32).numpy().astype("<f4").tobytes())

    def random_weights(self, seed=0):
        """Random weights with realistic batch-norm state: He-normal weights,
        biases N(0, 0.1), scales U(0.5, 1.5), rolling_mean N(0, 0.1),
        rolling_variance U(0.5, 1.5), PReLU slopes U(0.05, 0.5)."""
        g = np.random.default_rng(seed)
        kinds = {l.index: l.kind for l in self.layers}
        for li, name, t in self.param_list():
            n = t.numel()
            if name == "weights" and kinds[li] == "shortcut":
                v = g.uniform(0.5, 1.5, n)   # the inputs' mixing weights (Darknet starts them at 1)
            elif name == "weights":
                fan_in = n // t.shape[0]
                v = g.normal(0, math.sqrt(2.0 / fan_in), n)
            elif name == "biases":
                v = g.normal(0, 0.1, n)
            elif name == "scales":
                v = g.uniform(0.5, 1.5, n)
            elif name == "rolling_mean":
                v = g.normal(0, 0.1, n)
            elif name == "rolling_variance":
                v = g.uniform(0.5, 1.5, n)
            elif name == "prelu_slope":
                v = g.uniform(0.05, 0.5, n)
            else:
                raise ValueError(name)
            # round through float32 so the file holds exactly these values
            t.copy_(torch.from_numpy(v.astype(np.float32).astype(np.float64)).view(t.shape))

    # ---- forward ---------------------------------------------------------------
    # hints: optional outputs of every layer as another implementation (fer)
    # computed them, [B, C, H, W] each. Where this reference meets a
    # near-tie - a max-pool window whose two largest values are within tau
    # (relative), or an activation input within tau of a kink - it follows
    # the branch the hints show, so that the choice between two equally valid
    # subgradients, which float32 rounding decides, does not count as an error.
    # Everywhere else the reference decides on its own. self.hint_stats counts
    # the near-ties met (max-pool: not counting exact ties such as all-zero
    # windows after a relu, which both sides break alike, first cell first)
    # and how often the hint chose differently.

    def _act(self, l, z, hints):
        hint = hints[l.index] if hints is not None else None
        return activate_hinted(l.act, z, l.p("prelu_slope"), hint, self.tau, self.hint_stats)

    def _affine_tail(self, l, z, train, hints):
        """batch norm (or bias), then the activation; z is [B, C, H, W]."""
        if l.bn:
            # F.batch_norm updates the running statistics in place (in training
            # with the unbiased variance), exactly fer's rolling update.
            z = F.batch_norm(z, l.p("rolling_mean"), l.p("rolling_variance"), l.p("scales"),
                             l.p("biases"), training=train, momentum=self.bn_momentum, eps=BN_EPS)
        else:
            z = z + l.p("biases").view(1, -1, 1, 1)
        return self._act(l, z, hints)

    def _windows(self, l, x, fill=-math.inf):
        """x padded with fill (-inf) the Darknet way, cut into windows:
        [B, C, out_h, out_w, size*size] (row-major within a window)."""
        lo = l.padding // 2
        hi_h = max(0, (l.out_h - 1) * l.sh + l.size - l.h - lo)
        hi_w = max(0, (l.out_w - 1) * l.sw + l.size - l.w - lo)
        xp = F.pad(x, (lo, hi_w, lo, hi_h), value=fill)
        win = xp.unfold(2, l.size, l.sh).unfold(3, l.size, l.sw)[:, :, :l.out_h, :l.out_w]
        return win.reshape(*win.shape[:4], l.size * l.size)

    def _maxpool(self, l, x, hint_in):
        win = self._windows(l, x)
        idx = win.detach().argmax(dim=-1, keepdim=True)   # first maximum, like fer
        if hint_in is not None and win.shape[-1] > 1:
            top = win.detach().topk(2, dim=-1).values
            gap = top[..., 0] - top[..., 1]
            near = (gap <= self.tau * torch.clamp(top[..., 0].abs(), min=1.0)) & torch.isfinite(top[..., 1])
            hint_idx = self._windows(l, hint_in).argmax(dim=-1, keepdim=True)
            self.hint_stats["pool_near"] += int((near & (gap > 0)).sum())
            self.hint_stats["pool_differs"] += int((near.unsqueeze(-1) & (idx != hint_idx)).sum())
            idx = torch.where(near.unsqueeze(-1), hint_idx, idx)
        y = win.gather(-1, idx).squeeze(-1)
        # a window entirely outside the input gives 0 in fer
        return torch.where(torch.isinf(y), torch.zeros_like(y), y)

    def _local_avgpool(self, l, x):
        """The mean over the window's cells inside the input (padding not
        counted); 0 for a window entirely in the padding."""
        total = self._windows(l, x, 0.0).sum(dim=-1)
        count = self._windows(l, torch.ones_like(x[:1, :1]), 0.0).sum(dim=-1)
        return torch.where(count > 0, total / torch.clamp(count, min=1.0), torch.zeros_like(total))

    def _shortcut(self, l, x, outs):
        """Darknet's shortcut: w_0 * x plus, for each source, w_i times its
        first min(C) channels, sampled every `stride` cells and landing on
        every `sample`-th cell (pjreddie's shortcut_cpu indexing)."""
        w = l.p("weights")
        C = l.c

        def weight(i, c):
            if w is None:
                return 1.0
            if l.weights_type == "per_channel":
                return w[i * C:i * C + c].view(1, c, 1, 1)
            return w[i]

        y = x * weight(0, C)
        for i, si in enumerate(l.sources):
            src, a = self.layers[si], outs[si]
            stride, sample = max(1, src.out_w // l.w), max(1, l.w // src.out_w)
            mw, mh, mc = min(l.w, src.out_w), min(l.h, src.out_h), min(C, src.out_c)
            picked = a[:, :mc, 0:mh * stride:stride, 0:mw * stride:stride] * weight(i + 1, mc)
            add = torch.zeros_like(y)
            add[:, :mc, 0:mh * sample:sample, 0:mw * sample:sample] = picked
            y = y + add
        return y

    def _route_part(self, l, a):
        """The group_id-th of `groups` equal channel slices of a source."""
        part = a.shape[1] // l.groups
        return a[:, l.group_id * part:(l.group_id + 1) * part]

    def _crop(self, l, x, train, masks):
        """The window at (row, col), mirrored or not: at inference the centre,
        in training the one fer drew (masks[index] = [row, col, flip])."""
        row, col, flip = (l.h - l.out_h) // 2, (l.w - l.out_w) // 2, 0
        if train:
            if masks is None or l.index not in masks:
                raise ValueError("layer %d: a training crop needs fer's window" % l.index)
            row, col, flip = (int(v) for v in masks[l.index].tolist())
        cols = [l.w - col - j - 1 for j in range(l.out_w)] if flip else list(range(col, col + l.out_w))
        y = x[:, :, row:row + l.out_h, :][:, :, :, cols]
        return y * l.adjust[0] + l.adjust[1]

    def _upsample(self, l, x):
        if l.down:
            B, C = x.shape[0], x.shape[1]
            return l.scale * x.reshape(B, C, l.out_h, l.s, l.out_w, l.s).sum(dim=(3, 5))
        return l.scale * x.repeat_interleave(l.s, dim=2).repeat_interleave(l.s, dim=3)

    def _reorg(self, l, x):
        """Darknet's reorg_cpu(x, W, H, C, s, forward): for a = i + W*(j + H*k),
        z = (i*s + o%s) + W*s*((j*s + o/s) + H*s*(k % C')), C' = C/s^2,
        o = k / C'; forward 0: out[a] = x[z], forward 1: out[z] = x[a]."""
        W, H, C = l.reorg_dims
        s = l.s
        cp = C // (s * s)
        k, j, i = np.meshgrid(np.arange(C), np.arange(H), np.arange(W), indexing="ij")
        o = k // cp
        z = torch.from_numpy(((i * s + o % s) + W * s * ((j * s + o // s) + H * s * (k % cp))).ravel())
        flat = x.reshape(x.shape[0], -1)
        if l.reorg_forward:
            out = flat[:, torch.argsort(z)]   # out[z[a]] = x[a]
        else:
            out = flat[:, z]
        return out.reshape(x.shape[0], l.out_c, l.out_h, l.out_w)

    def forward(self, x, train=False, masks=None, truth=None, keep=False, hints=None):
        """x: [B, C, H, W]. masks: {layer index: multiplier [B, ...]} for
        dropout layers in training (required then). hints: see above.
        Returns (output, loss, outputs of every layer when keep, else None);
        loss is None without truth."""
        outs = []
        loss = None
        B = x.shape[0]
        self.hint_stats = {"pool_near": 0, "pool_differs": 0, "kink_near": 0, "kink_differs": 0}
        for l in self.layers:
            if l.kind == "convolutional":
                y = F.conv2d(x, l.p("weights"), None, (l.sh, l.sw), (l.ph, l.pw), (l.dh, l.dw), l.groups)
                y = self._affine_tail(l, y, train, hints)
            elif l.kind == "connected":
                y = x.reshape(B, -1) @ l.p("weights").t()
                y = self._affine_tail(l, y.view(B, -1, 1, 1), train, hints)
            elif l.kind == "batchnorm":
                y = self._affine_tail(l, x, train, hints)
            elif l.kind == "maxpool":
                hint_in = None
                if hints is not None:
                    hint_in = hints[l.index - 1] if l.index else x.detach()
                y = self._maxpool(l, x, hint_in)
            elif l.kind == "local_avgpool":
                y = self._local_avgpool(l, x)
            elif l.kind == "avgpool":
                y = x.mean(dim=(2, 3), keepdim=True)
            elif l.kind == "dropout":
                if train and l.probability > 0:
                    if masks is None or l.index not in masks:
                        raise ValueError("layer %d: training dropout needs a mask" % l.index)
                    y = x * masks[l.index].view(x.shape).to(x.dtype)
                else:
                    y = x
            elif l.kind == "shortcut":
                y = self._act(l, self._shortcut(l, x, outs), hints)
            elif l.kind == "route":
                y = torch.cat([self._route_part(l, outs[s]) for s in l.sources], dim=1)
            elif l.kind == "crop":
                y = self._crop(l, x, train, masks)
            elif l.kind == "scale_channels":
                y = self._act(l, outs[l.sources[0]] * x, hints)
            elif l.kind == "upsample":
                y = self._upsample(l, x)
            elif l.kind in ("reorg", "reorg3d"):
                y = self._reorg(l, x)
            elif l.kind == "softmax":
                flat = x.reshape(B, -1) / l.temperature
                y = F.softmax(flat, dim=1).view(B, -1, 1, 1)
                if l.index == self.loss_layer and truth is not None:
                    C = flat.shape[1]
                    t = (1 - l.label_smoothing) * truth.reshape(B, C) + l.label_smoothing / C
                    loss = -(t * F.log_softmax(flat, dim=1)).sum() / B
            elif l.kind == "cost":
                y = x
            else:
                raise ValueError(l.kind)
            outs.append(y)
            x = y
        return x, loss, outs if keep else None

    def run(self, x, truth, train=False, masks=None, hints=None):
        """One forward and backward pass like fer's: returns a dict with loss,
        output, dinput, grads (one per .weights tensor, zero for rolling
        statistics), params (values after the forward: rolling statistics
        updated in training) and layers (every layer's output)."""
        x = x.detach().clone().requires_grad_(True)
        for t in self.trainable():
            t.requires_grad_(True)
            t.grad = None
        out, loss, outs = self.forward(x, train, masks, truth, keep=True, hints=hints)
        loss.backward()
        grads = []
        for _, name, t in self.param_list():
            g = t.grad if t.grad is not None else torch.zeros_like(t)
            grads.append(g.detach().clone())
        for t in self.trainable():
            t.requires_grad_(False)
        return {"loss": loss.detach(), "output": out.detach(), "dinput": x.grad.detach(),
                "grads": grads, "params": [t.detach().clone() for _, _, t in self.param_list()],
                "layers": [o.detach() for o in outs], "hint_stats": dict(self.hint_stats)}


def read_pgm(path):
    """A binary (P5) PGM as float pixels in [0, 1], shape [1, H, W]."""
    with open(path, "rb") as f:
        data = f.read()
    tokens, pos = [], 2
    while len(tokens) < 3:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        tokens.append(int(data[start:pos]))
    w, h, maxv = tokens
    px = np.frombuffer(data, dtype=np.uint8 if maxv < 256 else ">u2", count=w * h, offset=pos + 1)
    return px.astype(np.float64).reshape(1, h, w) / maxv


def main(argv):
    if len(argv) >= 3 and argv[1] == "summary":
        net = FerNet(argv[2])
        for l in net.layers:
            print("%3d %-13s %4d x%4d x%4d -> %4d x%4d x%4d %-8s %s" % (
                l.index, l.kind, l.w, l.h, l.c, l.out_w, l.out_h, l.out_c, l.act,
                " ".join("%s[%d]" % (n, t.numel()) for n, t in l.params)))
        print("parameters: %d" % sum(t.numel() for _, _, t in net.param_list()))
        return 0
    if len(argv) in (4, 5) and argv[1] == "randweights":
        net = FerNet(argv[2])
        net.random_weights(int(argv[4]) if len(argv) == 5 else 0)
        net.save_weights(argv[3])
        return 0
    if len(argv) >= 5 and argv[1] == "predict":
        net = FerNet(argv[2])
        net.load_weights(argv[3])
        for path in argv[4:]:
            x = torch.from_numpy(read_pgm(path)).unsqueeze(0)
            if x.shape[1:] != (net.channels, net.height, net.width):
                print("%s: %s does not match the net's input" % (path, tuple(x.shape[1:])), file=sys.stderr)
                return 1
            with torch.no_grad():
                out, _, _ = net.forward(x)
            print(path, " ".join("%.7f" % v for v in out.flatten().tolist()))
        return 0
    print("usage:" + __doc__.split("by hand):")[1], file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
