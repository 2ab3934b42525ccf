#!/usr/bin/python3
"""Reference IBP and CROWN margins for advcheck's certify tests, computed independently.

Regenerate (from the repository root, MNIST in data/mnist):

    /usr/bin/python3 testdata/certify/gen_crown_golden.py

Each model (zoo mnist-mlp and testdata/certify/mnist-ibp.onnx) is read from its ONNX file
into dense float64 matrices (a Conv is turned into the matrix of its linear map by applying
it to the unit vectors), and the bounds are computed with plain matrix products:

- IBP: interval arithmetic layer by layer, the last layer folded into the margin rows
  C = e_y - e_j (Gowal et al. 2018);
- CROWN (Zhang et al. 2018): every pre-activation after the first (the first is exact under
  IBP) gets bounds by a backward pass through the earlier layers, with the ReLU relaxation
  upper chord u(x - l)/(u - l) and lower slope 1 if u >= -l else 0, intersected with its IBP
  bounds; then the margin rows go back to the input the same way; the margin is the larger
  of the IBP and CROWN bounds per row, then the minimum over rows.

No outward rounding here: advcheck's bounds must agree to about 1e-9 relative.
Writes testdata/certify/crown_golden.json.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "zoo"))
import zoonets  # noqa: E402

torch.set_default_dtype(torch.float64)


def dense_layers(path, strides):
    """[(W, b)] float64 dense matrices of the model's Conv/Gemm layers on flattened inputs."""
    layers = zoonets.onnx_layers(path)
    shape = (1, 28, 28)
    out = []
    for (kind, w, b), stride in zip(layers, strides):
        w = torch.from_numpy(np.array(w, dtype=np.float64))
        b = torch.from_numpy(np.array(b, dtype=np.float64))
        if kind == "conv":
            n = int(np.prod(shape))
            eye = torch.eye(n).reshape(n, *shape)
            y = F.conv2d(eye, w, None, stride=stride)
            shape = tuple(y.shape[1:])
            W = y.reshape(n, -1).T.contiguous()
            bias = b.repeat_interleave(shape[1] * shape[2])
        else:
            W, bias = w, b  # onnx_layers gives Linear weights as out x in
            shape = (W.shape[0],)
        out.append((W, bias))
    return out


def relax(l, u):
    """Lower slope, upper slope, upper intercept of ReLU on [l, u]."""
    lam = torch.where(u >= -l, 1.0, 0.0)
    s = torch.where(u - l > 0, u / (u - l).clamp(min=1e-300), 0.0)
    t = -s * l
    stable_pos, stable_neg = l >= 0, u <= 0
    lam = torch.where(stable_pos, 1.0, torch.where(stable_neg, 0.0, lam))
    s = torch.where(stable_pos, 1.0, torch.where(stable_neg, 0.0, s))
    t = torch.where(stable_pos | stable_neg, 0.0, t)
    return lam, s, t


def backward(layers, k, rows, bounds, xl, xu):
    """Lower bounds of rows @ z_k (z_k the pre-activation of layer k) over the input box."""
    W, b = layers[k]
    A, c = rows @ W, rows @ b
    for j in range(k - 1, -1, -1):
        lam, s, t = relax(*bounds[j])
        Ap, An = A.clamp(min=0), A.clamp(max=0)
        c = c + An @ t
        A = Ap * lam + An * s
        W, b = layers[j]
        c = c + A @ b
        A = A @ W
    return c + A.clamp(min=0) @ xl + A.clamp(max=0) @ xu


def margins(layers, x, y, eps):
    xl, xu = (x - eps).clamp(0, 1), (x + eps).clamp(0, 1)
    k = layers[-1][0].shape[0]
    C = torch.zeros(k - 1, k)
    r = 0
    for j in range(k):
        if j != y:
            C[r, y], C[r, j] = 1, -1
            r += 1
    res = {}
    for method in ("ibp", "crown"):
        l, u = xl, xu
        bounds = []  # pre-activation bounds of the hidden layers
        largest = len(x)
        for i, (W, b) in enumerate(layers[:-1]):
            mid, rad = (u + l) / 2, (u - l) / 2
            pl, pu = W @ mid + b - W.abs() @ rad, W @ mid + b + W.abs() @ rad
            m = len(pl)
            if method == "crown" and i > 0 and m <= 1024 and 2 * m * largest <= 1 << 25:
                eye = torch.eye(m)
                lo = backward(layers, i, eye, bounds, xl, xu)
                hi = -backward(layers, i, -eye, bounds, xl, xu)
                pl, pu = torch.maximum(pl, lo), torch.minimum(pu, hi)
            bounds.append((pl, pu))
            largest = max(largest, m)
            l, u = pl.clamp(min=0), pu.clamp(min=0)
        W, b = layers[-1]
        CW = C @ W
        ibp = CW.clamp(min=0) @ l + CW.clamp(max=0) @ u + C @ b
        rows = ibp
        if method == "crown":
            rows = torch.maximum(ibp, backward(layers, len(layers) - 1, C, bounds, xl, xu))
        res[method] = rows.min().item()
    return res


def main():
    x, y = zoonets.load_mnist(os.path.join(ROOT, "data", "mnist"), "test")
    models = {
        "zoo:mnist-mlp": (os.path.join(ROOT, "models", "zoo", "mnist-mlp.onnx"), [1, 1, 1]),
        "mnist-ibp": (os.path.join(HERE, "mnist-ibp.onnx"), [2, 2, 1, 1]),
    }
    out = []
    for name, (path, strides) in models.items():
        layers = dense_layers(path, strides)
        for i in range(4):
            xi = torch.from_numpy(x[i].reshape(-1)).double()
            for eps in (0.005, 0.02, 0.1):
                m = margins(layers, xi, int(y[i]), eps)
                out.append({"model": name, "image": i, "label": int(y[i]), "eps": eps, "ibp": m["ibp"], "crown": m["crown"]})
                print(out[-1], flush=True)
    with open(os.path.join(HERE, "crown_golden.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
