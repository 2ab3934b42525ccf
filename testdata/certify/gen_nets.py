#!/usr/bin/python3
"""Small networks with random weights for the soundness tests of advcheck's certify package.

Regenerate (from the repository root):

    /usr/bin/python3 testdata/certify/gen_nets.py

Each net takes N x 2 x 8 x 8 inputs and is exported with torch.onnx.export (opset 13, dynamic
batch, constant folding; BatchNorm in eval mode, which advcheck folds into the Conv before it).
Between them they use every op certify bounds: Conv (stride, padding, dilation, groups),
BatchNorm, ReLU, LeakyReLU, MaxPool (padding, ceil_mode), AveragePool (padding, with and without
count_include_pad), GlobalAveragePool, residual Add, Flatten, Linear (Gemm), MatMul, Sigmoid,
Tanh, ELU, Softplus, Hardtanh (Clip), Neg/Sub with constants; stop.onnx has x * x, which has no
sound bound in certify, so a certificate must name it.
"""

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 4, 3, dilation=2, groups=2, padding=1)
        self.fc = nn.Linear(4 * 2 * 2, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.c1(x)))
        x = F.relu(self.c2(x))
        return self.fc(x.flatten(1))


class Pools(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 3, 3, padding=1)
        self.c2 = nn.Conv2d(3, 4, 2)
        self.fc = nn.Linear(4 * 4 * 4, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 3, stride=2, padding=1, ceil_mode=True)  # 5x5
        x = F.leaky_relu(self.c2(x), 0.1)  # 4x4
        x = F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)  # 5x5
        x = F.avg_pool2d(x, 2, stride=1)  # 4x4
        return self.fc(x.flatten(1))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(2, 4, 3, padding=1)
        self.c1 = nn.Conv2d(4, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = F.relu(self.c0(x))
        y = self.c2(F.relu(self.c1(x)))
        x = F.relu(x + y)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(128, 16)
        self.l2 = nn.Linear(16, 16)
        self.l3 = nn.Linear(16, 16)
        self.l4 = nn.Linear(16, 16)
        self.w5 = nn.Parameter(torch.randn(16, 6) * 0.5)

    def forward(self, x):
        x = torch.sigmoid(self.l1(x.flatten(1)))
        x = torch.tanh(self.l2(x) * 2)
        x = F.elu(self.l3(x - 0.5))
        x = F.hardtanh(F.softplus(self.l4(x)), -1, 2)
        return -torch.matmul(x, self.w5)


class Stop(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(128, 8)
        self.l2 = nn.Linear(8, 3)

    def forward(self, x):
        x = self.l1(x.flatten(1))
        return self.l2(x * x)


def export(model, name):
    model.eval()
    path = os.path.join(HERE, name)
    torch.onnx.export(model, torch.zeros(1, 2, 8, 8), path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    torch.manual_seed(15)
    m = ConvBN()
    with torch.no_grad():
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.weight.uniform_(0.5, 1.5)
        m.bn.bias.uniform_(-0.2, 0.2)
    export(m, "net_convbn.onnx")
    export(Pools(), "net_pools.onnx")
    export(Residual(), "net_residual.onnx")
    export(Activations(), "net_activations.onnx")
    export(Stop(), "net_stop.onnx")


if __name__ == "__main__":
    main()
