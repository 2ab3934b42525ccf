#!/usr/bin/python3
"""Generate the small op-coverage ONNX models and their PyTorch-autograd goldens.

Regenerate (from the repository root, MNIST in data/mnist: ./scripts/fetch-mnist.sh data/mnist):

    /usr/bin/python3 testdata/gen_art_fixture.py   # art_mnist (listed in the README if present)
    /usr/bin/python3 testdata/gen_models.py

Writes, for every model NAME below:
    testdata/models/NAME.onnx        exported from the float32 module (opset 13)
    testdata/golden/NAME/x.npy       float32, 8 inputs in the model's native layout, values in [0, 1]
    testdata/golden/NAME/y.npy       int64 (8,), labels
    testdata/golden/NAME/out.npy     float64, the model's output for x
    testdata/golden/NAME/logits.npy  float64, the tensor before a final Softmax/LogSoftmax (else = out)
    testdata/golden/NAME/grad_ce.npy float64, d/dx of sum_i CE(logits_i, y_i), same layout as x
    testdata/golden/NAME/tie.npy     uint8, same layout as x, models with a MaxPool only: 1 where
                                     grad_ce depends on how tied MaxPool maxima are broken
and testdata/models/README.md + testdata/models/models.json (op histograms read back with onnx).

Goldens are computed with the module converted to float64 and autograd, so they are exact
references for a float32 engine up to float32 rounding. Weights are random with fixed seeds,
rescaled on the golden batch so that every layer's output has unit spread (no dead ReLU
networks) and the logits, centred per class over the batch, have a standard deviation of 3.

MaxPool ties: where a pooling window holds several exactly equal maxima (MNIST's constant
background makes this frequent) every tied element is a valid place for the gradient; PyTorch
picks the first in row-major order, and grad_ce.npy follows it. A float32 engine computes such
values a few ulps apart when its BLAS rounds different output columns differently (OpenBLAS's
Haswell/Zen SGEMM) and picks the one that rounded highest. tie.npy marks the input entries whose
gradient changes between tie conventions (testdata/zoo/maxpool_ties.py: each window position
first, last first, random per-window priorities); there grad_ce.npy is a convention, not a
reference, and the engine tests compare the float32 gradient on the other entries only.
"""

import argparse
import collections
import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "zoo"))
import maxpool_ties  # noqa: E402
import zoonets  # noqa: E402

BATCH = 8


# ---------------------------------------------------------------------------------------------
# Models. Each has: SHAPE (one input, native layout), LAYOUT, HEAD (None|'softmax'|'logsoftmax'),
# DOC, logits(x) (the tensor before the head) and forward(x) = head(logits(x)).


class Base(nn.Module):
    SHAPE = (1, 28, 28)
    LAYOUT = "nchw"
    HEAD = None
    DOC = ""
    OUTPUT = "logits"

    def forward(self, x):
        z = self.logits(x)
        if self.HEAD == "softmax":
            return torch.softmax(z, dim=1)
        if self.HEAD == "logsoftmax":
            return torch.log_softmax(z, dim=1)
        return z

    def final_params(self):
        """Parameters/buffers that produce the logits (scaled to fix the logits' magnitude)."""
        last = [m for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][-1]
        return [last.weight, last.bias]


class BnUnfolded(Base):
    DOC = ("Conv -> BatchNorm2d (eval, random running statistics and affine) -> ReLU, twice, then "
           "MaxPool and Linear; exported with TrainingMode.PRESERVE and no constant folding so the "
           "BatchNormalization nodes stay in the graph instead of being folded into the convolutions.")
    EXPORT = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    TIE_WINDOW = 4  # positions per MaxPool window

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 6 * 6, 10)

    def randomize_bn(self, g):
        for bn in (self.bn1, self.bn2):
            c = bn.num_features
            bn.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
            bn.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
            bn.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            bn.bias.data.copy_(torch.randn(c, generator=g) * 0.2 + 0.3)

    def logits(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.max_pool2d(x, 2)
        return self.fc(x.flatten(1))


class ViewChain(Base):
    DOC = ("CNN that flattens with x.view(x.size(0), -1), exported with a dynamic batch axis so the "
           "graph keeps the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain.")
    EXPORT = dict(do_constant_folding=False)

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, stride=2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2)
        self.fc1 = nn.Linear(16 * 6 * 6, 32)
        self.fc2 = nn.Linear(32, 10)

    def logits(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


class PadAvgPool(Base):
    DOC = ("F.pad constant (1,2,0,1) -> avg_pool2d(2, stride 2, padding 1, count_include_pad=True) "
           "(exported as Pad + AveragePool), then AvgPool2d(3, stride 2, padding 1, ceil_mode=True, "
           "count_include_pad=False) whose last row of windows only partly covers the input.")

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.pool2 = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def logits(self, x):
        x = F.relu(self.conv1(x))                                   # 8x26x26
        x = F.pad(x, (1, 2, 0, 1))                                  # 8x27x29
        x = F.avg_pool2d(x, 2, stride=2, padding=1, count_include_pad=True)  # 8x14x15
        x = F.relu(self.conv2(x))                                   # 16x12x13
        x = self.pool2(x)                                           # 16x7x7
        return self.fc(x.flatten(1))


class Depthwise(Base):
    SHAPE = (3, 16, 16)
    DOC = ("3x16x16 input: Conv, depthwise Conv (groups=channels), grouped Conv (groups=2), Conv with "
           "dilation 2 and stride 2, Conv with a 3x1 kernel, AdaptiveAvgPool2d(1) (GlobalAveragePool), "
           "flatten, Linear.")

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 12, 3, padding=1)
        self.dw = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.grouped = nn.Conv2d(12, 16, 3, padding=1, groups=2)
        self.dilated = nn.Conv2d(16, 16, 3, stride=2, padding=2, dilation=2)
        self.rect = nn.Conv2d(16, 16, (3, 1), padding=(1, 0))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def logits(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.dw(x))
        x = F.relu(self.grouped(x))
        x = F.relu(self.dilated(x))   # 16x8x8
        x = F.relu(self.rect(x))
        return self.fc(self.pool(x).flatten(1))


class MLP(Base):
    DOC = "nn.Flatten -> nn.Linear (Gemm, transB=1) -> ReLU -> nn.Linear."

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))

    def logits(self, x):
        return self.net(x)


class SmallCNN(Base):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, stride=2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2)
        self.fc = nn.Linear(16 * 6 * 6, 10)

    def logits(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.fc(x.flatten(1))


class SoftmaxHead(SmallCNN):
    HEAD = "softmax"
    OUTPUT = "probabilities"
    DOC = "Small CNN ending in nn.Softmax(dim=1): the output is class probabilities."

    def __init__(self):
        super().__init__()
        self.head = nn.Softmax(dim=1)

    def forward(self, x):
        return self.head(self.logits(x))


class LogSoftmaxHead(SmallCNN):
    HEAD = "logsoftmax"
    OUTPUT = "log_probabilities"
    DOC = "Small CNN ending in nn.LogSoftmax(dim=1): the output is log-probabilities."

    def __init__(self):
        super().__init__()
        self.head = nn.LogSoftmax(dim=1)

    def forward(self, x):
        return self.head(self.logits(x))


class NHWC(Base):
    SHAPE = (28, 28, 1)
    LAYOUT = "nhwc"
    DOC = "Input N x 28 x 28 x 1 (NHWC); x.permute(0, 3, 1, 2) (Transpose) then a small CNN."
    TIE_WINDOW = 4  # positions per MaxPool window

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, stride=2)
        self.fc = nn.Linear(8 * 6 * 6, 10)

    def logits(self, x):
        x = x.permute(0, 3, 1, 2)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return self.fc(x.flatten(1))


class Batch1(Base):
    DOC = ("Small CNN exported without dynamic axes from a batch-1 dummy input, flattening with "
           "x.reshape(1, -1): the graph has a fixed input shape 1x1x28x28 and a constant Reshape target "
           "[1, -1]. Goldens use the same weights on the batch of 8 (flattening per sample).")
    DYNAMIC = False

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, stride=2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2)
        self.fc = nn.Linear(16 * 6 * 6, 10)
        self.exporting = False

    def logits(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = x.reshape(1, -1) if self.exporting else x.view(x.size(0), -1)
        return self.fc(x)


class MiscOps(Base):
    DOC = ("LeakyRelu(0.1), MaxPool(3, stride 2, padding 1, ceil_mode) with a partial last window, "
           "residual Add with Tanh, Sigmoid, Concat along channels, Mul/Sub broadcasting against "
           "(1,C,1,1) constants, Clip (torch.clamp and F.hardtanh), Mul/Sub/Div between two "
           "activations, Div by a scalar constant, MatMul of a 2-D activation by a constant matrix.")
    TIE_WINDOW = 9  # positions per MaxPool window

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, 8, 3, padding=1)
        self.c4 = nn.Conv2d(16, 8, 3, stride=2)
        self.c5 = nn.Conv2d(16, 8, 3, stride=2)
        self.fc1 = nn.Linear(8 * 7 * 7, 32)
        self.register_buffer("scale", torch.linspace(0.5, 1.5, 16).reshape(1, 16, 1, 1))
        self.register_buffer("shift", torch.linspace(-0.3, 0.3, 16).reshape(1, 16, 1, 1))
        self.register_buffer("M", torch.zeros(32, 10))
        self.register_buffer("mb", torch.zeros(10))

    def init_constants(self, g):
        self.M.copy_(torch.randn(32, 10, generator=g) / 32 ** 0.5)
        self.mb.copy_(torch.randn(10, generator=g) * 0.1)

    def final_params(self):
        return [self.M, self.mb]

    def logits(self, x):
        a = F.leaky_relu(self.c1(x), 0.1)                        # 8x28x28
        a = F.max_pool2d(a, 3, stride=2, padding=1, ceil_mode=True)  # 8x15x15 (ceil: partial window)
        a = a + torch.tanh(self.c2(a))                           # residual Add
        s = torch.sigmoid(self.c3(a))
        h = torch.cat([a, s], dim=1)                             # 16x15x15
        h = h * self.scale - self.shift                          # broadcasting with constants
        h = torch.clamp(h, -1.0, 2.0)                            # Clip
        u = self.c4(h)                                           # 8x7x7
        v = self.c5(h)
        w = u * torch.sigmoid(v) - v / 2.0                       # Mul, Sub between activations, Div by constant
        w = w / (1.5 + torch.tanh(u))                            # Div between activations
        w = F.hardtanh(w, -2.0, 2.0)                             # Clip
        f = F.relu(self.fc1(w.flatten(1)))
        return torch.matmul(f, self.M) + self.mb                 # MatMul by a constant matrix


MODELS = [
    ("bn_unfolded", BnUnfolded),
    ("view_chain", ViewChain),
    ("pad_avgpool", PadAvgPool),
    ("depthwise", Depthwise),
    ("mlp", MLP),
    ("softmax_head", SoftmaxHead),
    ("logsoftmax_head", LogSoftmaxHead),
    ("nhwc", NHWC),
    ("batch1", Batch1),
    ("misc_ops", MiscOps),
]


# ---------------------------------------------------------------------------------------------


def golden_inputs(model_cls, mnist, seed):
    g = torch.Generator().manual_seed(seed)
    if model_cls.SHAPE in ((1, 28, 28), (28, 28, 1)):
        x = torch.from_numpy(mnist[0][:BATCH].copy())
        y = torch.from_numpy(mnist[1][:BATCH].copy())
        if model_cls.LAYOUT == "nhwc":
            x = x.permute(0, 2, 3, 1).contiguous()
    else:
        x = torch.rand((BATCH,) + tuple(model_cls.SHAPE), generator=g)
        y = torch.randint(0, 10, (BATCH,), generator=g)
    return x.float(), y.long()


@torch.no_grad()
def calibrate(model, x, target_std=3.0):
    """Data-dependent init: scale each Conv/Linear so its output has unit standard deviation on x
    (in forward order), then centre and scale the logits to a standard deviation of target_std."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for layer in layers:
        seen = {}
        h = layer.register_forward_hook(lambda m, i, o: seen.setdefault("o", o))
        model.logits(x)
        h.remove()
        std = seen["o"].std().item()
        layer.weight.mul_(1.0 / std)
        layer.bias.mul_(1.0 / std)
    # Centre each class's logit over the batch (through the final bias) so that the predictions
    # depend on the input rather than on a dominant class, then fix the spread.
    w, b = model.final_params()
    b.sub_(model.logits(x).mean(0))
    z = model.logits(x)
    s = target_std / z.std().item()
    w.mul_(s)
    b.mul_(s)


@torch.no_grad()
def relu_activity(model, x):
    """Fraction of positive entries at the input of every ReLU-like nonlinearity (via the layers)."""
    fr = []
    hooks = [m.register_forward_hook(lambda m, i, o: fr.append((o > 0).double().mean().item()))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d))]
    model.logits(x)
    for h in hooks:
        h.remove()
    return fr


def op_histogram(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return collections.Counter(n.op_type for n in m.graph.node), m


def export(model, name, path, x):
    kw = dict(opset_version=13, do_constant_folding=True)
    kw.update(getattr(model, "EXPORT", {}))
    dynamic = getattr(model, "DYNAMIC", True)
    dummy = x[:1] if not dynamic else x[:2]
    out_name = model.OUTPUT
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch"}, out_name: {0: "batch"}}
    if isinstance(model, Batch1):
        model.exporting = True
    model.eval()
    torch.onnx.export(model, dummy, path, input_names=["input"], output_names=[out_name], **kw)
    if isinstance(model, Batch1):
        model.exporting = False


def goldens(model, x, y):
    m64 = copy.deepcopy(model).double().eval()
    for p in m64.parameters():
        p.requires_grad_(False)
    xd = x.double().clone().requires_grad_(True)
    z = m64.logits(xd)
    out = m64(xd)
    loss = -(torch.log_softmax(z, dim=1).gather(1, y[:, None])).sum()
    (g,) = torch.autograd.grad(loss, xd)
    return out.detach().numpy(), z.detach().numpy(), g.numpy()


def tie_mask(model, x, y):
    """tie.npy's mask: where the float64 input gradient depends on MaxPool tie-breaking."""
    m64 = copy.deepcopy(model).double().eval()
    for p in m64.parameters():
        p.requires_grad_(False)
    xd = x.double().clone().requires_grad_(True)

    def grad():
        loss = -(torch.log_softmax(m64.logits(xd), dim=1).gather(1, y[:, None])).sum()
        return torch.autograd.grad(loss, xd)[0]

    return maxpool_ties.tie_dependent(grad, model.TIE_WINDOW).numpy().astype(np.uint8)


def save_goldens(d, x, y, out, logits, grad):
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(d, "y.npy"), y.numpy().astype(np.int64))
    np.save(os.path.join(d, "out.npy"), out.astype(np.float64))
    np.save(os.path.join(d, "logits.npy"), logits.astype(np.float64))
    np.save(os.path.join(d, "grad_ce.npy"), grad.astype(np.float64))


def value_info_shape(vi):
    dims = vi.type.tensor_type.shape.dim
    return [d.dim_param if d.dim_param else d.dim_value for d in dims]


README_HEAD = """# Op-coverage test models

Small ONNX classifiers (random weights, fixed seeds) that exercise the operators and export
patterns advcheck's ONNX engine must handle, each with PyTorch-autograd goldens in
`testdata/golden/NAME/`. All are opset 13, exported by PyTorch {torch} with onnx {onnx}.

Regenerate with `/usr/bin/python3 testdata/gen_models.py` (needs MNIST in `data/mnist`:
`./scripts/fetch-mnist.sh data/mnist`). `art_mnist` comes from `testdata/gen_art_fixture.py`.

Goldens (`testdata/golden/NAME/`):

| file | dtype | content |
|---|---|---|
| `x.npy` | float32 | 8 inputs in the model's native layout (NHWC for `nhwc`), values in [0, 1]: the first 8 MNIST test images for 28x28 inputs, else uniform random |
| `y.npy` | int64 (8,) | labels: the MNIST labels, or fixed random classes |
| `out.npy` | float64 | the model's output for `x` (probabilities / log-probabilities for the softmax-headed models) |
| `logits.npy` | float64 | the tensor before a final Softmax/LogSoftmax, else the same as `out.npy` |
| `grad_ce.npy` | float64 | d/dx of sum_i CE(logits_i, y_i) (CE via log_softmax of `logits.npy`'s tensor), same layout as `x` |
| `tie.npy` | uint8 | models with a MaxPool: 1 where `grad_ce.npy` changes with the MaxPool tie convention, same layout as `x` |

The goldens come from the float64 copy of the module and autograd; the ONNX file holds the
float32 weights, so a float32 engine should agree to about 1e-5 relative.

`models.json` lists the same information in machine-readable form.

Notes for engine implementers:

- Every `out.npy` was cross-checked against onnxruntime 1.20.1 run on the ONNX files (max
  relative difference < 1e-6) with its graph optimisations disabled. With them enabled,
  onnxruntime 1.20.1 gets `pad_avgpool` wrong: its Pad -> AveragePool fusion drops the
  explicit zeros from the average at the borders (count_include_pad semantics), so the
  PyTorch goldens are the reference, not onnxruntime's default output.
- `F.pad` at opset 13 is exported by PyTorch 1.13 as a Pad whose `pads` input is computed by
  a constant-only int64 subgraph (Constant, ConstantOfShape, Concat, Reshape, Slice with step
  -1, Transpose, Cast) that torch's constant folding leaves in place; `pad_avgpool` keeps it
  as exported.
- MaxPool gradients: with tied maxima (frequent on MNIST, whose zero background makes whole
  windows equal) PyTorch sends the gradient to the first maximal element of the window in
  row-major order; `grad_ce.npy` of the models with a MaxPool (`bn_unfolded`, `nhwc`,
  `misc_ops`, `art_mnist`) can depend on that convention, and `tie.npy` marks where it does
  (the gradient changes when ties go to another element). A float32 engine whose BLAS rounds
  tied values a few ulps apart legitimately differs there. ReLU'(0) is 0.

"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--models", default=os.path.join(HERE, "models"))
    ap.add_argument("--golden", default=os.path.join(HERE, "golden"))
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()

    import onnx
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(args.models, exist_ok=True)
    xte, yte = zoonets.load_mnist(args.data, "test")
    mnist = (xte[:BATCH], yte[:BATCH])

    index = []
    md = [README_HEAD.format(torch=torch.__version__, onnx=onnx.__version__)]
    failed = False
    for k, (name, cls) in enumerate(MODELS):
        seed = args.seed + 101 * k
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed + 1)
        model = cls()
        if isinstance(model, BnUnfolded):
            with torch.no_grad():
                model.randomize_bn(g)
        if isinstance(model, MiscOps):
            model.init_constants(g)
        model.eval()
        x, y = golden_inputs(cls, mnist, seed + 2)
        calibrate(model, x)
        act = relu_activity(model, x)
        path = os.path.join(args.models, name + ".onnx")
        export(model, name, path, x)
        out, logits, grad = goldens(model, x, y)
        save_goldens(os.path.join(args.golden, name), x, y, out, logits, grad)
        if hasattr(cls, "TIE_WINDOW"):
            tie = tie_mask(model, x, y)
            np.save(os.path.join(args.golden, name, "tie.npy"), tie)
            print("%-16s tie-dependent gradient entries: %d of %d" % (name, tie.sum(), tie.size))

        hist, m = op_histogram(path)
        ops = dict(sorted(hist.items()))
        in_shape = value_info_shape(m.graph.input[0])
        out_shape = value_info_shape(m.graph.output[0])
        size = os.path.getsize(path)
        # Check what each model exists for.
        want = {
            "bn_unfolded": ["BatchNormalization"],
            "view_chain": ["Shape", "Gather", "Unsqueeze", "Concat", "Reshape"],
            "pad_avgpool": ["Pad", "AveragePool"],
            "depthwise": ["GlobalAveragePool", "Conv"],
            "mlp": ["Gemm"],
            "softmax_head": ["Softmax"],
            "logsoftmax_head": ["LogSoftmax"],
            "nhwc": ["Transpose"],
            "batch1": ["Reshape"],
            "misc_ops": ["LeakyRelu", "Sigmoid", "Tanh", "Clip", "MaxPool", "Add", "Concat", "Mul", "Div",
                         "Sub", "MatMul"],
        }[name]
        missing = [o for o in want if o not in hist]
        if name == "batch1" and in_shape[0] != 1:
            missing.append("fixed batch 1")
        if size > 200 * 1024:
            missing.append("size %d > 200 KiB" % size)
        pred = logits.argmax(1)
        print("%-16s %6d bytes  in %s out %s  logits std %.2f |max| %.2f  pred %s  relu-active %s" % (
            name, size, in_shape, out_shape, logits.std(), np.abs(logits).max(), pred.tolist(),
            " ".join("%.2f" % a for a in act)))
        print("%-16s ops %s" % ("", ops))
        if missing:
            print("%-16s MISSING: %s" % ("", missing))
            failed = True
        if any(a < 0.05 or a > 0.98 for a in act):
            print("%-16s WARNING: a layer is nearly dead or nearly linear" % "")
        gemms = [n for n in m.graph.node if n.op_type == "Gemm"]
        index.append({
            "name": name, "file": name + ".onnx", "input_shape": list(cls.SHAPE), "layout": cls.LAYOUT,
            "batch": "dynamic" if getattr(model, "DYNAMIC", True) else 1,
            "head": cls.HEAD or "logits", "output": model.OUTPUT, "classes": 10, "ops": ops,
            "description": cls.DOC,
        })
        md.append("## %s\n\n%s\n\n" % (name, cls.DOC))
        md.append("- input `input` %s (%s), output `%s` %s; %d bytes\n" % (
            in_shape, cls.LAYOUT.upper(), model.OUTPUT, out_shape, size))
        if gemms:
            tb = sorted({next((a.i for a in n.attribute if a.name == "transB"), 0) for n in gemms})
            md.append("- Gemm transB: %s\n" % tb)
        md.append("- ops: %s\n\n" % ", ".join("%s x%d" % (o, c) for o, c in ops.items()))
        md.append("| op | count |\n|---|---|\n" + "".join("| %s | %d |\n" % (o, c) for o, c in ops.items()) + "\n")

    # art_mnist is generated by gen_art_fixture.py; list it if present.
    art = os.path.join(args.models, "art_mnist.onnx")
    if os.path.exists(art):
        hist, m = op_histogram(art)
        ops = dict(sorted(hist.items()))
        md.append("## art_mnist\n\nIBM ART's MNIST test model (fixed weights from ART's test suite, see "
                  "`shared/fixtures/art-mnist/README.md`): Conv 7x7 (1 filter) "
                  "-> ReLU -> MaxPool 4x4 stride 4 -> Flatten -> Linear(25, 10) -> Softmax. Built by "
                  "`testdata/gen_art_fixture.py`, which also checks ART's published FGSM/FGM numbers.\n\n")
        md.append("- ops: %s\n\n" % ", ".join("%s x%d" % (o, c) for o, c in ops.items()))
        index.append({"name": "art_mnist", "file": "art_mnist.onnx", "input_shape": [1, 28, 28], "layout": "nchw",
                      "batch": "dynamic", "head": "softmax", "output": "probabilities", "classes": 10, "ops": ops,
                      "description": "IBM ART's MNIST test-suite model (conformance fixture)"})

    with open(os.path.join(args.models, "README.md"), "w") as f:
        f.write("".join(md))
    with open(os.path.join(args.models, "models.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")
    if failed:
        sys.exit("some models lack what they are for (see MISSING above)")


if __name__ == "__main__":
    main()
