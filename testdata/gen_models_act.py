#!/usr/bin/python3
"""Generate the activation-coverage ONNX models and their PyTorch-autograd goldens.

Regenerate (from the repository root):

    /usr/bin/python3 testdata/gen_models_act.py

One small network (Activations below) uses nn.Hardswish, nn.Hardsigmoid (as a
squeeze-and-excitation gate, as in MobileNetV3), nn.ReLU6, nn.SiLU, nn.GELU (exact and
approximate="tanh"), x.pow(2) and torch.sqrt. It is exported twice by PyTorch 1.13:

    testdata/models/act13.onnx   opset 13: Hardswish as x·HardSigmoid(x), GELU as Div/Erf,
                                 tanh-GELU as its Mul/Pow/Tanh pattern, ReLU6 as Relu → Clip
    testdata/models/act17.onnx   opset 17: the same, but Hardswish as a HardSwish node

with goldens in testdata/golden/NAME/ in the layout testdata/gen_models.py writes (x, y,
out, logits, grad_ce), computed in float64 by autograd on 8 random inputs in [0, 1].
"""

import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_models import Base, calibrate, export, golden_inputs, goldens, op_histogram, save_goldens  # noqa: E402


class Activations(Base):
    SHAPE = (3, 8, 8)

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.hswish = nn.Hardswish()
        self.se = nn.Conv2d(8, 8, 1)
        self.hsig = nn.Hardsigmoid()
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.relu6 = nn.ReLU6()
        self.silu = nn.SiLU()
        self.fc1 = nn.Linear(8 * 4 * 4, 32)
        self.gelu = nn.GELU()
        self.fc2 = nn.Linear(32, 32)
        self.gelu_tanh = nn.GELU(approximate="tanh")
        self.fc3 = nn.Linear(32, 10)

    def logits(self, x):
        h = self.hswish(self.c1(x))
        h = h * self.hsig(self.se(h.mean((2, 3), keepdim=True)))
        h = self.silu(self.relu6(3 * self.c2(h)))
        h = self.gelu(self.fc1(h.flatten(1)))
        h = self.gelu_tanh(self.fc2(h))
        # An RMS-style normalisation: x.pow(2) and torch.sqrt, as in LayerNorm's opset-13 export.
        h = h / torch.sqrt(h.pow(2).mean(1, keepdim=True) + 1e-5)
        return self.fc3(h)


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    seed = 20261202
    for name, opset, want in [("act13", 13, ["HardSigmoid", "Clip", "Erf", "Tanh", "Sigmoid", "Pow", "Sqrt"]),
                              ("act17", 17, ["HardSwish", "HardSigmoid", "Clip", "Erf", "Tanh", "Sigmoid", "Pow", "Sqrt"])]:
        torch.manual_seed(seed)
        model = Activations().eval()
        model.EXPORT = dict(opset_version=opset)
        x, y = golden_inputs(Activations, None, seed + 2)
        calibrate(model, x)
        path = os.path.join(HERE, "models", name + ".onnx")
        export(model, name, path, x)
        out, logits, grad = goldens(model, x, y)
        save_goldens(os.path.join(HERE, "golden", name), x, y, out, logits, grad)
        hist, _ = op_histogram(path)
        missing = [op for op in want if op not in hist]
        if missing:
            sys.exit(f"{name}: the export lacks {missing}: {dict(hist)}")
        print(name, os.path.getsize(path), "bytes", dict(sorted(hist.items())))


if __name__ == "__main__":
    main()
