#!/usr/bin/python3
"""Generate the models with input sizes left open and their PyTorch-autograd goldens.

Regenerate (from the repository root):

    /usr/bin/python3 testdata/gen_dynamic.py

A small CNN ending in global average pooling takes any height and width. It is exported twice
(opset 13), with dynamic axes on the batch, height and width:

    testdata/models/dyn_hw.onnx        input "input" of shape [batch, 3, height, width]
    testdata/models/dyn_hw_paddle.onnx the same weights, named as a Paddle2ONNX export names
                                       them: input "x" of shape [N, 3, DynamicDimension,
                                       DynamicDimension]; its metadata_props carry one entry,
                                       image_shape = "3,32,32", so that a test sees advcheck
                                       report what a file's metadata says about its size

and for each size S in SIZES (C×H×W):

    testdata/golden/dynamic/x_HxW.npy       float32 (4, 3, H, W), values in [0, 1]
    testdata/golden/dynamic/y_HxW.npy       int64 (4,), labels
    testdata/golden/dynamic/logits_HxW.npy  float64 (4, 5)
    testdata/golden/dynamic/grad_HxW.npy    float64, d/dx of sum_i CE(logits_i, y_i)

Goldens come from the module in float64 with autograd.
"""

import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [(3, 32, 32), (3, 20, 28)]
N = 4


class GapCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def export(m, path, name, dims):
    x = torch.rand(1, 3, 32, 32)
    torch.onnx.export(m, x, path, opset_version=13, input_names=[name], output_names=["logits"],
                      dynamic_axes={name: {0: dims[0], 2: dims[1], 3: dims[2]}, "logits": {0: dims[0]}})


def main():
    torch.manual_seed(12)
    m = GapCNN().eval()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(3.0)
    models = os.path.join(HERE, "models")
    export(m, os.path.join(models, "dyn_hw.onnx"), "input", ["batch", "height", "width"])
    paddle = os.path.join(models, "dyn_hw_paddle.onnx")
    export(m, paddle, "x", ["N", "DynamicDimension", "DynamicDimension"])
    om = onnx.load(paddle)
    om.producer_name, om.producer_version = "PaddlePaddle", "2.5"
    e = om.metadata_props.add()
    e.key, e.value = "image_shape", "3,32,32"
    onnx.save(om, paddle)

    m64 = m.double()
    out = os.path.join(HERE, "golden", "dynamic")
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    for c, h, w in SIZES:
        x = torch.rand(N, c, h, w, generator=g)
        y = torch.randint(0, 5, (N,), generator=g)
        x64 = x.double().requires_grad_(True)
        z = m64(x64)
        F.cross_entropy(z, y, reduction="sum").backward()
        tag = f"{h}x{w}"
        np.save(os.path.join(out, f"x_{tag}.npy"), x.numpy())
        np.save(os.path.join(out, f"y_{tag}.npy"), y.numpy().astype(np.int64))
        np.save(os.path.join(out, f"logits_{tag}.npy"), z.detach().numpy())
        np.save(os.path.join(out, f"grad_{tag}.npy"), x64.grad.numpy())


if __name__ == "__main__":
    main()
