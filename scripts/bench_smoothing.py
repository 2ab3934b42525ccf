#!/usr/bin/python3
"""Randomized smoothing's CERTIFY (Cohen, Rosenfeld & Kolter 2019) in PyTorch,
the peer of advcheck's certify.Smoothing for scripts/bench-smoothing.sh: the same
ONNX model (its weights loaded into PyTorch by testdata/zoo/zoonets.py), the same
forwards (n0 + n noisy copies per sample, in batches), on the first MNIST test
images. Prints one JSON line: seconds per sample, and each sample's class and
radius (the noise differs from advcheck's, so radii agree only statistically).

Usage: /usr/bin/python3 scripts/bench_smoothing.py [--model models/zoo/mnist-cnn.onnx]
       [--samples 5] [--n0 100] [--n 10000] [--sigma 0.25] [--alpha 0.001] [--batch 128]
"""
import argparse
import json
import os
import sys
import time

import torch
from scipy.stats import beta, norm

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testdata", "zoo"))
import zoonets  # noqa: E402


def counts(model, x, num, sigma, batch):
    c = torch.zeros(10, dtype=torch.long)
    left = num
    with torch.no_grad():
        while left > 0:
            b = min(batch, left)
            noisy = x.repeat(b, 1, 1, 1) + sigma * torch.randn(b, *x.shape[1:])
            c += torch.bincount(model(noisy).argmax(1), minlength=10)
            left -= b
    return c


def certify(model, x, n0, n, sigma, alpha, batch):
    ca = int(counts(model, x, n0, sigma, batch).argmax())
    na = int(counts(model, x, n, sigma, batch)[ca])
    pa = beta.ppf(alpha, na, n - na + 1) if na > 0 else 0.0
    if pa <= 0.5:
        return -1, 0.0
    return ca, sigma * norm.ppf(pa)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/zoo/mnist-cnn.onnx")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--n0", type=int, default=100)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--sigma", type=float, default=0.25)
    ap.add_argument("--alpha", type=float, default=0.001)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = zoonets.module_from_onnx(a.model).eval()
    x, y = zoonets.load_mnist(a.data, "test")
    x = torch.as_tensor(x[: a.samples]).float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    out = []
    start = time.perf_counter()
    for i in range(a.samples):
        c, r = certify(model, x[i : i + 1], a.n0, a.n, a.sigma, a.alpha, a.batch)
        out.append({"label": int(y[i]), "class": c, "radius": r})
    dt = time.perf_counter() - start
    print(json.dumps({"peer": "pytorch " + torch.__version__, "threads": a.threads, "samples": a.samples,
                      "s_per_sample": dt / a.samples, "certificates": out}))


if __name__ == "__main__":
    main()
