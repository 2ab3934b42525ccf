#!/usr/bin/python3
"""FGSM goldens from an independent PyTorch implementation, for attacks/fgsm_golden_test.go.

Regenerate (from the repository root, with MNIST in data/mnist):

    /usr/bin/python3 testdata/gen_fgsm_golden.py

The zoo CNN's weights are read from models/zoo/mnist-cnn.onnx into the PyTorch module. On the
first 200 MNIST test images, for eps in {0.05, 0.1, 0.2}, FGSM is computed the textbook way
(Goodfellow et al. 2015, as ART and torchattacks do it): x_adv = clip(x + eps * sign(grad_x CE(f(x), y)), 0, 1),
in float64 (the module and the images converted with .double()): a float32 cross-entropy backward
rounds softmax(z)_y to 1 on confidently classified samples, which flips the sign of many tiny
gradient entries; the float64 gradient is the exact reference.
Written to testdata/golden/fgsm_cnn.npz:

    x        uint8  (200, 1, 28, 28)   the MNIST images (pixels; x = x / 255)
    y        int64  (200,)             labels
    sign     int8   (200, 1, 28, 28)   sign of the input gradient (float64 autograd)
    small    uint8  (200, 1, 28, 28)   1 where |grad| < 1e-4 * max |grad| of the sample: near
                                       zero, where a float32 engine's sign may differ
    pred_EPS int64  (200,)             predictions on x_adv, one array per eps (pred_0.05, ...)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo"))
import zoonets  # noqa: E402

N = 200
EPS = [0.05, 0.1, 0.2]


def main():
    torch.manual_seed(0)
    model = zoonets.module_from_onnx("models/zoo/mnist-cnn.onnx").double()
    for p in model.parameters():
        p.requires_grad_(False)
    x_all, y_all = zoonets.load_mnist("data/mnist", "test")
    x = torch.from_numpy(x_all[:N].copy()).double()
    y = torch.from_numpy(y_all[:N].copy())
    x.requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, [x])
    out = {
        "x": np.round(x.detach().numpy() * 255).astype(np.uint8),
        "y": y.numpy().astype(np.int64),
        "sign": torch.sign(g).numpy().astype(np.int8),
    }
    gmax = g.abs().reshape(N, -1).max(dim=1).values.reshape(N, 1, 1, 1)
    out["small"] = (g.abs() < 1e-4 * gmax).numpy().astype(np.uint8)
    with torch.no_grad():
        for eps in EPS:
            adv = torch.clamp(x + eps * torch.sign(g), 0, 1)
            out["pred_%g" % eps] = model(adv).argmax(dim=1).numpy().astype(np.int64)
            acc = (out["pred_%g" % eps] == out["y"]).mean()
            print("eps %g: accuracy %.3f" % (eps, acc))
    np.savez_compressed("testdata/golden/fgsm_cnn.npz", **out)
    print("wrote testdata/golden/fgsm_cnn.npz (%d bytes)" % os.path.getsize("testdata/golden/fgsm_cnn.npz"))


if __name__ == "__main__":
    main()
