#!/usr/bin/python3
"""zoo_params_torch.py - counts the trainable parameters of every model-zoo
cfg (cfg/README.md) with an independent PyTorch reference and compares them
with what `fer net CFG` prints.

usage: zoo_params_torch.py [FER]      (FER: the fer binary, default ./fer)

The references below are plain torch.nn modules written from the papers
(VGG, ResNet, Inception-V3, mini-Xception, Khaireddin & Chen's VGG, the seed
paper's shallow CNN) with the adaptations each cfg's header comment states:
one input channel, 7 classes, the cfg's input size, VGG16 with the seed
paper's head, the 3x3/1 stem of the 48x48 ResNets. They are NOT derived from
the cfg files and do not use tests/ref/fer_torch.py, so a wrong filter count, a
missing layer or a wrong head in a cfg shows up as a difference.

For each model: trainable parameters (sum of numel over parameters with
requires_grad; batch-norm running statistics are buffers, not parameters)
against fer's "parameters: N trainable", and batch-norm running statistics
(running_mean + running_var) against fer's "(+ M batch-norm running
statistics)". The only difference allowed is the one the cfg header
documents, counted from the reference model itself:
  bias_before_bn  PyTorch keeps a bias in a convolution or dense layer that
                  batch norm follows; fer folds it into the BN shift
                  (reference = fer + those channels);
  depthwise_bias  fer's depthwise [convolutional] without batch norm has a
                  bias that Keras' SeparableConv2D(use_bias=False) lacks
                  (reference = fer - those channels).
One forward pass of a random image at the cfg's input size (batch 1,
inference mode) proves the shapes work; the output must be 7 values, and the
input, the grid the head sees (the input of fer's global average pooling or
first dense layer) and the output must match fer's layer table. Then the same
modules in their ImageNet form are counted against torchvision's and Keras'
published totals. Prints one line per model and per such anchor; exits 1 on
any mismatch, 77 (SKIP) when torch is missing."""
import os
import re
import subprocess
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as ex:
    print("SKIP: /usr/bin/python3 has no %s (apt-get install python3-torch)" % (ex.name or ex))
    sys.exit(77)

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
CLASSES = 7


# ---------------------------------------------------------------- building blocks

class ConvBN(nn.Module):
    """convolution (no bias unless asked) -> batch norm -> optional ReLU"""

    def __init__(self, cin, cout, k, stride=1, pad=0, bias=False, relu=True, eps=1e-5):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=bias)
        self.bn = nn.BatchNorm2d(cout, eps=eps)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class LinearBN(nn.Module):
    """dense with bias -> batch norm -> ReLU -> dropout (the shallow CNN's head)"""

    def __init__(self, nin, nout, drop):
        super().__init__()
        self.fc = nn.Linear(nin, nout)
        self.bn = nn.BatchNorm1d(nout)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(F.relu(self.bn(self.fc(x))))


# ---------------------------------------------------------------- shallow CNN

class Shallow(nn.Module):
    """The seed paper's shallow CNN (cfg/shallow.cfg's header): four blocks of
    conv (64 3x3, 128 5x5, 512 3x3, 512 3x3, 'same', with bias) -> BN -> ReLU
    -> 2x2/2 max-pool -> dropout 0.25 (48 -> 24 -> 12 -> 6 -> 3); dense 256
    and 512, each BN -> ReLU -> dropout 0.25; dense 7."""

    def __init__(self):
        super().__init__()
        blocks, cin = [], 1
        for cout, k in ((64, 3), (128, 5), (512, 3), (512, 3)):
            blocks += [ConvBN(cin, cout, k, pad=k // 2, bias=True), nn.MaxPool2d(2, 2), nn.Dropout(0.25)]
            cin = cout
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Flatten(), LinearBN(512 * 3 * 3, 256, 0.25),
                                  LinearBN(256, 512, 0.25), nn.Linear(512, CLASSES))

    def forward(self, x):
        x = self.features(x)
        self.grid = tuple(x.shape[1:])
        return self.head(x)


# ---------------------------------------------------------------- VGG16-BN

class VGG16(nn.Module):
    """Simonyan & Zisserman's configuration D with batch norm after every
    convolution (torchvision's vgg16_bn keeps the convolution bias), on one
    channel at 48x48: five 2x2/2 max-pools, 48 -> 24 -> 12 -> 6 -> 3 -> 1
    (floor), so the head sees 512 values. The seed paper's head: dropout 0.5,
    dense 4096 ReLU, dropout 0.5, dense 1024 ReLU, dense 7."""

    PLAN = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")

    def __init__(self, in_ch=1, head=None):
        super().__init__()
        layers, cin = [], in_ch
        for v in self.PLAN:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers.append(ConvBN(cin, v, 3, pad=1, bias=True))
                cin = v
        self.features = nn.Sequential(*layers)
        if head is None:
            head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(512, 4096), nn.ReLU(),
                                 nn.Dropout(0.5), nn.Linear(4096, 1024), nn.ReLU(), nn.Linear(1024, CLASSES))
        self.head = head

    def forward(self, x):
        x = self.features(x)
        self.grid = tuple(x.shape[1:])
        return self.head(x)


# ---------------------------------------------------------------- Khaireddin & Chen's VGG

class VggFer(nn.Module):
    """Khaireddin & Chen (arXiv:2105.03588): four stages of two 3x3 'same'
    convolutions with bias (64, 128, 256, 512), each with batch norm and
    ReLU, a 2x2/2 max-pool after each stage (40 -> 20 -> 10 -> 5 -> 2 on the
    40x40 crops); dense 4096, dropout 0.2, dense 4096, dropout 0.2, dense 7.
    last_pool=3 is fer's vgg_fer48 variant: the whole 48x48 face, the last
    pool 3x3/3 (48 -> 24 -> 12 -> 6 -> 2); half=True is vgg_fer48_small:
    half the filters (32, 64, 128, 256) and dense layers of 1024."""

    def __init__(self, last_pool=2, half=False):
        super().__init__()
        layers, cin = [], 1
        widths = (32, 64, 128, 256) if half else (64, 128, 256, 512)
        dense = 1024 if half else 4096
        for width in widths:
            pool = last_pool if width == widths[-1] else 2
            layers += [ConvBN(cin, width, 3, pad=1, bias=True), ConvBN(width, width, 3, pad=1, bias=True),
                       nn.MaxPool2d(pool, pool)]
            cin = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin * 2 * 2, dense), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(dense, dense), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(dense, CLASSES))

    def forward(self, x):
        x = self.features(x)
        self.grid = tuple(x.shape[1:])
        return self.head(x)


# ---------------------------------------------------------------- ResNets

class Basic(nn.Module):
    """ResNet basic block: 3x3 (stride) -> 3x3, plus the input or, where the
    shape changes, a 1x1 strided projection with batch norm"""
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * self.expansion
        self.a = ConvBN(cin, width, 3, stride=stride, pad=1)
        self.b = ConvBN(width, cout, 3, pad=1, relu=False)
        self.proj = ConvBN(cin, cout, 1, stride=stride, relu=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        skip = x if self.proj is None else self.proj(x)
        return F.relu(self.b(self.a(x)) + skip)


class Bottleneck(nn.Module):
    """ResNet bottleneck, v1.5: 1x1 -> 3x3 (the stride here) -> 1x1 (4x width),
    projection as in Basic"""
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * self.expansion
        self.a = ConvBN(cin, width, 1)
        self.b = ConvBN(width, width, 3, stride=stride, pad=1)
        self.c = ConvBN(width, cout, 1, relu=False)
        self.proj = ConvBN(cin, cout, 1, stride=stride, relu=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        skip = x if self.proj is None else self.proj(x)
        return F.relu(self.c(self.b(self.a(x))) + skip)


class ResNet(nn.Module):
    """He et al.'s ResNet with the small-image stem: one 3x3/1 convolution
    with 64 filters (BN, ReLU) instead of 7x7/2 + 3x3/2 max-pool, optionally
    followed by a 2x2/2 max-pool (resnet18_pool.cfg); four stages of widths
    64, 128, 256, 512, the first block of stages 2-4 with stride 2; global
    average pooling; dense 7."""

    def __init__(self, block, depths, stem_pool=False, in_ch=1, classes=CLASSES, imagenet=False):
        super().__init__()
        if imagenet:   # 7x7/2 convolution + 3x3/2 max-pool
            self.stem = ConvBN(in_ch, 64, 7, stride=2, pad=3)
            self.stem_pool = nn.MaxPool2d(3, 2, padding=1)
        else:
            self.stem = ConvBN(in_ch, 64, 3, pad=1)
            self.stem_pool = nn.MaxPool2d(2, 2) if stem_pool else nn.Identity()
        blocks, cin = [], 64
        for stage, (width, n) in enumerate(zip((64, 128, 256, 512), depths)):
            for i in range(n):
                blocks.append(block(cin, width, 2 if stage > 0 and i == 0 else 1))
                cin = width * block.expansion
        self.stages = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.stages(self.stem_pool(self.stem(x)))
        self.grid = tuple(x.shape[1:])
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------- Inception-V3

def icv(cin, cout, k, stride=1, pad=0):
    """Inception's conv unit: no bias, batch norm (eps 1e-3 in the paper's
    TensorFlow and in torchvision; irrelevant to the count), ReLU"""
    return ConvBN(cin, cout, k, stride=stride, pad=pad, eps=1e-3)


def avg3(x):
    # 3x3/1 'same' average; the padding is not counted (Keras), as in fer
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class MixedA(nn.Module):
    """35x35 module (Figure 5 with the 5x5 branch kept as one 5x5, as the
    released model): 1x1 64 | 1x1 48 -> 5x5 64 | 1x1 64 -> 3x3 96 -> 3x3 96 |
    avg 3x3 -> 1x1 pool_ch"""

    def __init__(self, cin, pool_ch):
        super().__init__()
        self.b1 = icv(cin, 64, 1)
        self.b5 = nn.Sequential(icv(cin, 48, 1), icv(48, 64, 5, pad=2))
        self.b3 = nn.Sequential(icv(cin, 64, 1), icv(64, 96, 3, pad=1), icv(96, 96, 3, pad=1))
        self.bp = icv(cin, pool_ch, 1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b5(x), self.b3(x), self.bp(avg3(x))], 1)


class ReduceA(nn.Module):
    """35 -> 17 grid reduction: 3x3/2 384 | 1x1 64 -> 3x3 96 -> 3x3/2 96 |
    max 3x3/2 (valid)"""

    def __init__(self, cin):
        super().__init__()
        self.b3 = icv(cin, 384, 3, stride=2)
        self.b3d = nn.Sequential(icv(cin, 64, 1), icv(64, 96, 3, pad=1), icv(96, 96, 3, stride=2))

    def forward(self, x):
        return torch.cat([self.b3(x), self.b3d(x), F.max_pool2d(x, 3, stride=2)], 1)


class MixedC(nn.Module):
    """17x17 module with factorized 7x7s (Figure 6, n = 7): 1x1 192 |
    1x1 c -> 1x7 c -> 7x1 192 | 1x1 c -> 7x1 c -> 1x7 c -> 7x1 c -> 1x7 192 |
    avg 3x3 -> 1x1 192"""

    def __init__(self, cin, c):
        super().__init__()
        def row(a, b):   # 1x7, 'same'
            return icv(a, b, (1, 7), pad=(0, 3))

        def col(a, b):   # 7x1, 'same'
            return icv(a, b, (7, 1), pad=(3, 0))

        self.b1 = icv(cin, 192, 1)
        self.b7 = nn.Sequential(icv(cin, c, 1), row(c, c), col(c, 192))
        self.b7d = nn.Sequential(icv(cin, c, 1), col(c, c), row(c, c), col(c, c), row(c, 192))
        self.bp = icv(cin, 192, 1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b7(x), self.b7d(x), self.bp(avg3(x))], 1)


class ReduceB(nn.Module):
    """17 -> 8 grid reduction: 1x1 192 -> 3x3/2 320 | 1x1 192 -> 1x7 192 ->
    7x1 192 -> 3x3/2 192 | max 3x3/2 (valid)"""

    def __init__(self, cin):
        super().__init__()
        self.b3 = nn.Sequential(icv(cin, 192, 1), icv(192, 320, 3, stride=2))
        self.b7 = nn.Sequential(icv(cin, 192, 1), icv(192, 192, (1, 7), pad=(0, 3)),
                                icv(192, 192, (7, 1), pad=(3, 0)), icv(192, 192, 3, stride=2))

    def forward(self, x):
        return torch.cat([self.b3(x), self.b7(x), F.max_pool2d(x, 3, stride=2)], 1)


class MixedE(nn.Module):
    """8x8 module with expanded filter banks (Figure 7): 1x1 320 |
    1x1 384 -> (1x3 384, 3x1 384) | 1x1 448 -> 3x3 384 -> (1x3 384, 3x1 384) |
    avg 3x3 -> 1x1 192"""

    def __init__(self, cin):
        super().__init__()
        self.b1 = icv(cin, 320, 1)
        self.b3 = icv(cin, 384, 1)
        self.b3_row, self.b3_col = icv(384, 384, (1, 3), pad=(0, 1)), icv(384, 384, (3, 1), pad=(1, 0))
        self.b3d = nn.Sequential(icv(cin, 448, 1), icv(448, 384, 3, pad=1))
        self.b3d_row, self.b3d_col = icv(384, 384, (1, 3), pad=(0, 1)), icv(384, 384, (3, 1), pad=(1, 0))
        self.bp = icv(cin, 192, 1)

    def forward(self, x):
        a, d = self.b3(x), self.b3d(x)
        return torch.cat([self.b1(x), self.b3_row(a), self.b3_col(a), self.b3d_row(d), self.b3d_col(d),
                          self.bp(avg3(x))], 1)


class InceptionV3(nn.Module):
    """Szegedy et al.'s Inception-V3 (the released model's layer widths),
    without the auxiliary classifier, one input channel, 75x75: stem 3x3/2 32,
    3x3 32, 3x3 'same' 64, max 3x3/2, 1x1 80, 3x3 192, max 3x3/2; 3 x MixedA
    (pool branches 32, 64, 64), ReduceA, 4 x MixedC (c = 128, 160, 160, 192),
    ReduceB, 2 x MixedE; global average pooling, dropout 0.5, dense 7."""

    def __init__(self, in_ch=1, classes=CLASSES):
        super().__init__()
        self.stem = nn.Sequential(icv(in_ch, 32, 3, stride=2), icv(32, 32, 3), icv(32, 64, 3, pad=1),
                                  nn.MaxPool2d(3, 2), icv(64, 80, 1), icv(80, 192, 3), nn.MaxPool2d(3, 2))
        self.body = nn.Sequential(MixedA(192, 32), MixedA(256, 64), MixedA(288, 64), ReduceA(288),
                                  MixedC(768, 128), MixedC(768, 160), MixedC(768, 160), MixedC(768, 192),
                                  ReduceB(768), MixedE(1280), MixedE(2048))
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.body(self.stem(x))
        self.grid = tuple(x.shape[1:])
        return self.fc(self.drop(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


# ---------------------------------------------------------------- mini-Xception

def tf_same_pad(x, k, stride, value):
    """pads x as TensorFlow's 'same' does for a k x k window at this stride
    (the extra row/column goes after)"""
    h, w = x.shape[-2:]
    ph = max((-(-h // stride) - 1) * stride + k - h, 0)
    pw = max((-(-w // stride) - 1) * stride + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=value)


class SepConvBN(nn.Module):
    """Keras SeparableConv2D(use_bias=False): depthwise 3x3 'same' + pointwise
    1x1, then batch norm, optional ReLU"""

    def __init__(self, cin, cout, relu):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.pointwise(self.depthwise(x)))
        return F.relu(x) if self.relu else x


class XceptionModule(nn.Module):
    """main: sepconv -> BN -> ReLU -> sepconv -> BN -> max 3x3/2 'same';
    skip: 1x1/2 conv (no bias) -> BN; the sum"""

    def __init__(self, cin, cout):
        super().__init__()
        self.skip = ConvBN(cin, cout, 1, stride=2, relu=False)
        self.sep1 = SepConvBN(cin, cout, relu=True)
        self.sep2 = SepConvBN(cout, cout, relu=False)

    def forward(self, x):
        y = self.sep2(self.sep1(x))
        y = F.max_pool2d(tf_same_pad(y, 3, 2, float("-inf")), 3, stride=2)
        return y + self.skip(x)


class MiniXception(nn.Module):
    """Arriaga et al.'s mini-Xception at 64x64x1: two valid 3x3 convolutions
    with 8 filters (no bias, BN, ReLU), modules of 16, 32, 64, 128 filters
    (64 -> 62 -> 60 -> 30 -> 15 -> 8 -> 4), a 3x3 'same' convolution to the 7
    classes with bias, global average pooling."""

    def __init__(self):
        super().__init__()
        self.base = nn.Sequential(ConvBN(1, 8, 3), ConvBN(8, 8, 3))
        self.blocks = nn.Sequential(XceptionModule(8, 16), XceptionModule(16, 32),
                                      XceptionModule(32, 64), XceptionModule(64, 128))
        self.classify = nn.Conv2d(128, CLASSES, 3, padding=1)

    def forward(self, x):
        x = self.classify(self.blocks(self.base(x)))
        self.grid = tuple(x.shape[1:])
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


# ---------------------------------------------------------------- counting

def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def bn_statistics(model):
    return sum(m.running_mean.numel() + m.running_var.numel()
               for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def bias_before_bn(model):
    """channels of the biases in conv/dense layers directly followed by batch
    norm (ConvBN with bias=True, LinearBN)"""
    n = 0
    for m in model.modules():
        if isinstance(m, ConvBN) and m.conv.bias is not None:
            n += m.conv.bias.numel()
        elif isinstance(m, LinearBN):
            n += m.fc.bias.numel()
    return n


def depthwise_channels(model):
    """channels of the bias-free depthwise convolutions"""
    return sum(m.out_channels for m in model.modules()
               if isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels and m.bias is None)


# name, cfg, constructor, input (C, H, W), documented difference
MODELS = [
    ("shallow", "cfg/shallow.cfg", Shallow, (1, 48, 48), "bias_before_bn"),
    ("vgg16", "cfg/vgg16.cfg", VGG16, (1, 48, 48), "bias_before_bn"),
    ("vgg_fer", "cfg/vgg_fer.cfg", VggFer, (1, 40, 40), "bias_before_bn"),
    ("vgg_fer48", "cfg/vgg_fer48.cfg", lambda: VggFer(last_pool=3), (1, 48, 48), "bias_before_bn"),
    ("vgg_fer48_small", "cfg/vgg_fer48_small.cfg", lambda: VggFer(last_pool=3, half=True), (1, 48, 48),
     "bias_before_bn"),
    ("resnet18", "cfg/resnet18.cfg", lambda: ResNet(Basic, (2, 2, 2, 2)), (1, 48, 48), None),
    ("resnet18_pool", "cfg/resnet18_pool.cfg", lambda: ResNet(Basic, (2, 2, 2, 2), stem_pool=True),
     (1, 48, 48), None),
    ("resnet50", "cfg/resnet50.cfg", lambda: ResNet(Bottleneck, (3, 4, 6, 3)), (1, 48, 48), None),
    ("inceptionv3", "cfg/inceptionv3.cfg", InceptionV3, (1, 75, 75), None),
    ("mini_xception", "cfg/mini_xception.cfg", MiniXception, (1, 64, 64), "depthwise_bias"),
]


def imagenet_vgg_head():
    """torchvision's VGG classifier on 7x7x512, built on the meta device (only
    counted, never run: 120M parameters)"""
    meta = torch.device("meta")
    return nn.Sequential(nn.Linear(512 * 7 * 7, 4096, device=meta), nn.Linear(4096, 4096, device=meta),
                         nn.Linear(4096, 1000, device=meta))


def inception_aux_params():
    """torchvision's Inception-V3 auxiliary classifier on Mixed_6e (768
    channels): 1x1 128, 5x5 768 (each without bias, with BN), dense 1000"""
    return trainable(nn.Sequential(icv(768, 128, 1), icv(128, 768, 5), nn.Linear(768, 1000)))


# The same reference modules in their ImageNet form, against published totals
# (torchvision's num_params, Keras' model summary): evidence that the modules
# above are the papers' networks and not a copy of the cfgs' mistakes.
# name, count, published
def anchors():
    return [
        ("ResNet-18, 3x224x224, 7x7/2 stem + max-pool, 1000 classes (torchvision resnet18)",
         trainable(ResNet(Basic, (2, 2, 2, 2), in_ch=3, classes=1000, imagenet=True)), 11689512),
        ("ResNet-50 v1.5, same (torchvision resnet50)",
         trainable(ResNet(Bottleneck, (3, 4, 6, 3), in_ch=3, classes=1000, imagenet=True)), 25557032),
        ("VGG16-BN, 3 channels, 7x7x512 -> 4096 -> 4096 -> 1000 (torchvision vgg16_bn)",
         trainable(VGG16(in_ch=3, head=imagenet_vgg_head())), 138365992),
        ("Inception-V3, 3 channels, 1000 classes, + auxiliary classifier (torchvision inception_v3)",
         trainable(InceptionV3(in_ch=3, classes=1000)) + inception_aux_params(), 27161264),
        ("mini-Xception, 64x64x1, 7 classes, trainable + BN statistics (Keras model total)",
         trainable(MiniXception()) + bn_statistics(MiniXception()), 58423),
    ]


def fer_net(fer, cfg):
    """fer's counts, the input the network sees (after a [crop]), the input of the global pooling
    or first dense layer (the grid the head sees) and the last layer's output
    (C, H, W) from `fer net CFG`"""
    r = subprocess.run([fer, "net", cfg], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s net %s: exit %d: %s" % (fer, cfg, r.returncode, r.stderr.strip()))
    m = re.search(r"^parameters: (\d+) trainable \(\+ (\d+) batch-norm running statistics\)", r.stdout, re.M)
    shape = r"(\d+) x *(\d+) x *(\d+)"   # w x h x c ("6 x   6 x2048")
    rows = re.findall(r"^ +\d+ (\S+).*?" + shape + r" +-> +" + shape, r.stdout, re.M)
    heads = [row for row in rows if row[0] in ("avgpool", "connected")]
    if not m or not rows or not heads:
        raise RuntimeError("%s net %s: no 'parameters:' line or layer table in:\n%s" % (fer, cfg, r.stdout))

    def chw(whc):
        return tuple(int(v) for v in reversed(whc))
    # what the network sees: the input of its first layer after any [crop]
    seen = next(row for row in rows if row[0] != "crop")
    return (int(m.group(1)), int(m.group(2)), chw(seen[1:4]), chw(heads[0][1:4]),
            chw(rows[-1][4:7]))


def check(fer, name, cfg, build, shape, kind):
    """returns (ok, table row)"""
    torch.manual_seed(0)
    model = build().eval()
    t_params, t_stats = trainable(model), bn_statistics(model)
    f_params, f_stats, f_in, f_grid, f_out = fer_net(fer, cfg)
    problems = []
    if kind == "bias_before_bn":
        want = bias_before_bn(model)
        reason = "PyTorch's bias before batch norm, %d channels, folded into fer's BN shift" % want
    elif kind == "depthwise_bias":
        want = -depthwise_channels(model)
        reason = "fer's bias in each depthwise conv, %d channels, Keras has none" % -want
    else:
        want, reason = 0, "none"
    if t_params - f_params != want:
        problems.append("trainable: torch - fer = %+d, documented %+d" % (t_params - f_params, want))
    if t_stats != f_stats:
        problems.append("BN statistics: torch %d, fer %d" % (t_stats, f_stats))
    if f_in != shape:
        problems.append("input: torch %s, fer %s (C, H, W)" % (shape, f_in))
    with torch.no_grad():
        out = model(torch.randn(1, *shape))
    if model.grid != f_grid:
        problems.append("grid before the head: torch %s, fer %s (C, H, W)" % (model.grid, f_grid))
    if tuple(out.shape) != (1, CLASSES) or not torch.isfinite(out).all():
        problems.append("torch output %s, want (1, %d) finite" % (tuple(out.shape), CLASSES))
    if f_out != (CLASSES, 1, 1):
        problems.append("fer output %s (C, H, W), want (%d, 1, 1)" % (f_out, CLASSES))
    row = "%-16s %-9s %-10s %12d %12d %+8d %8d  %s" % (
        name, "%dx%dx%d" % (shape[1], shape[2], shape[0]), "%dx%dx%d" % (model.grid[1], model.grid[2], model.grid[0]),
        t_params, f_params, t_params - f_params, t_stats, reason)
    for p in problems:
        row += "\n    MISMATCH: " + p
    return not problems, row


def main():
    fer = sys.argv[1] if len(sys.argv) > 1 else "./fer"
    if not os.access(fer, os.X_OK):
        print("%s: no such executable (build it with make, or pass the fer binary)" % fer)
        return 1
    torch.set_num_threads(1)
    print("%-16s %-9s %-10s %12s %12s %8s %8s  %s" % ("model", "input", "head sees", "torch", "fer", "diff",
                                                      "BN stats", "documented difference"))
    bad = 0
    for name, cfg, build, shape, kind in MODELS:
        try:
            ok, row = check(fer, name, cfg, build, shape, kind)
        except (RuntimeError, OSError) as ex:
            ok, row = False, "%-16s ERROR: %s" % (name, ex)
        print(row)
        bad += not ok
    for what, got, published in anchors():
        ok = got == published
        print("anchor: %-88s %10d %s" % (what, got, "ok" if ok else "MISMATCH: published %d" % published))
        bad += not ok
    if bad:
        print("zoo params: FAILED, %d mismatches (models or anchors)" % bad)
        return 1
    print("zoo params: all %d cfgs match their PyTorch reference, which reproduces the published totals"
          % len(MODELS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
