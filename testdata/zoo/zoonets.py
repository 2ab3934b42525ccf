"""Shared helpers for the PyTorch side of the model zoo.

- read_idx / load_mnist: a small reader for the original MNIST IDX files
  (as installed by ./scripts/fetch-mnist.sh data/mnist); pixels are scaled to [0, 1].
- MnistMLP / MnistCNN: the zoo architectures (inputs N x 1 x 28 x 28 in [0, 1], raw logits out).
- load_onnx_weights / module_from_onnx: rebuild the PyTorch module of a zoo model from the
  initializers of its ONNX file, so that evaluations and speed comparisons run on exactly the
  weights that advcheck embeds.

This module is imported by testdata/zoo/train_zoo.py, testdata/zoo/eval_robust.py,
testdata/gen_models.py, testdata/gen_art_fixture.py and scripts/peer_bench.py.
"""

import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# IDX element types (third byte of the magic number).
_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Read one IDX file (uncompressed) into a numpy array."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("%s: not an IDX file" % path)
    dtype = _IDX_DTYPES.get(data[2])
    if dtype is None:
        raise ValueError("%s: unknown IDX element type 0x%02x" % (path, data[2]))
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    want = int(np.prod(dims))
    if arr.size != want:
        raise ValueError("%s: header says %d elements, file holds %d" % (path, want, arr.size))
    return arr.reshape(dims)


def load_mnist(data_dir, split):
    """Return (images float32 N x 1 x 28 x 28 in [0, 1], labels int64 N) for split 'train' or 'test'."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte"))
    labels = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte"))
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError("%s: unexpected MNIST shapes %s / %s" % (data_dir, images.shape, labels.shape))
    x = (images.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    y = labels.astype(np.int64)
    return x, y


class MnistMLP(nn.Module):
    """Flatten -> Linear(784,256) -> ReLU -> Linear(256,256) -> ReLU -> Linear(256,10)."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc3 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.flatten(x)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class MnistCNN(nn.Module):
    """Conv(1,32,3) -> ReLU -> Conv(32,64,3) -> ReLU -> MaxPool(2) -> flatten -> Linear(9216,128)
    -> ReLU -> Linear(128,10). Dropout (p1 after the pool, p2 after fc1) is active only in training
    and disappears from the eval-mode ONNX export."""

    def __init__(self, dropout=(0.25, 0.5)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)
        self.p1, self.p2 = dropout

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        if self.p1 > 0:
            x = F.dropout(x, self.p1, self.training)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        if self.p2 > 0:
            x = F.dropout(x, self.p2, self.training)
        return self.fc2(x)


def export_onnx(model, path, dynamic=True):
    """Export a zoo model the way advcheck expects it (opset 13, input/logits, dynamic batch)."""
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(
        model, dummy, path,
        opset_version=13,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic else None,
        do_constant_folding=True,
    )


def onnx_layers(path):
    """List the parameterised layers of an ONNX graph in node order.

    Returns a list of (kind, weight, bias) with kind 'conv' or 'linear'. Linear weights are
    returned in PyTorch's (out, in) layout whatever the Gemm's transB; MatMul(+Add) pairs are
    recognised as linear layers too. Bias may be None.
    """
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    # Constant nodes can hold weights as well.
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    init[n.output[0]] = numpy_helper.to_array(a.t)
    consumers = {}
    for n in m.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    layers = []
    for n in m.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Conv":
            w = init[n.input[1]]
            b = init[n.input[2]] if len(n.input) > 2 and n.input[2] else None
            layers.append(("conv", w, b))
        elif n.op_type == "Gemm":
            w = init[n.input[1]]
            if attrs.get("transA", 0):
                raise ValueError("Gemm with transA is not a linear layer")
            if not attrs.get("transB", 0):
                w = w.T
            w = w * attrs.get("alpha", 1.0)
            b = init[n.input[2]] * attrs.get("beta", 1.0) if len(n.input) > 2 and n.input[2] else None
            layers.append(("linear", w, b))
        elif n.op_type == "MatMul" and n.input[1] in init:
            w = init[n.input[1]].T
            b = None
            for c in consumers.get(n.output[0], []):
                if c.op_type == "Add":
                    other = c.input[1] if c.input[0] == n.output[0] else c.input[0]
                    if other in init:
                        b = init[other]
            layers.append(("linear", w, b))
    return layers


def load_onnx_weights(module, path):
    """Copy the Conv/Gemm weights of the ONNX file at path onto module's Conv2d/Linear layers, in order."""
    layers = onnx_layers(path)
    targets = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if len(layers) != len(targets):
        raise ValueError("%s has %d parameterised layers, the module %d" % (path, len(layers), len(targets)))
    with torch.no_grad():
        for (kind, w, b), t in zip(layers, targets):
            want = "conv" if isinstance(t, nn.Conv2d) else "linear"
            if kind != want or tuple(w.shape) != tuple(t.weight.shape):
                raise ValueError("%s: layer %s %s does not fit %s" % (path, kind, w.shape, t))
            t.weight.copy_(torch.from_numpy(np.array(w, dtype=np.float64 if t.weight.dtype == torch.float64 else np.float32)).to(t.weight.dtype))
            if t.bias is not None:
                if b is None:
                    t.bias.zero_()
                else:
                    t.bias.copy_(torch.from_numpy(np.array(b, dtype=np.float64 if t.bias.dtype == torch.float64 else np.float32)).to(t.bias.dtype))
    return module


def module_from_onnx(path):
    """Rebuild the PyTorch module of a zoo model (MLP or CNN) from its ONNX file, in eval mode."""
    kinds = [k for k, _, _ in onnx_layers(path)]
    if kinds == ["linear"] * 3:
        model = MnistMLP()
    elif kinds == ["conv", "conv", "linear", "linear"]:
        model = MnistCNN(dropout=(0.0, 0.0))
    else:
        raise ValueError("%s: not a zoo architecture (layers %s)" % (path, kinds))
    load_onnx_weights(model, path)
    return model.eval()
