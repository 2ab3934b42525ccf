#!/usr/bin/python3
"""Train a small MNIST CNN with interval bound propagation (Gowal et al. 2018) and export it.

Regenerate (from the repository root, MNIST in data/mnist):

    nice /usr/bin/python3 testdata/certify/train_ibp.py --epochs 4 --ramp 2 --train-size 30000 --seed 1

Architecture (Gowal et al.'s "small" model, strides 2): Conv 1->16 4x4 s2 -> ReLU ->
Conv 16->32 4x4 s2 -> ReLU -> Flatten -> Linear 800->100 -> ReLU -> Linear 100->10, inputs
N x 1 x 28 x 28 in [0, 1], raw logits.

Training (Gowal et al. 2018, much shortened to fit a few CPU minutes): the first --train-size
training images, Adam lr 1e-3 (x0.1 for the last epoch), batch 100; loss
kappa * CE(clean) + (1 - kappa) * CE(worst-case logits under IBP at eps_train), where the
worst-case logit of class j is minus the IBP lower bound of z_y - z_j computed with the last
layer folded into the margin (elision). Over the first --ramp epochs eps_train rises linearly
from 0 to --eps-train and kappa falls linearly from 1 to 0.5; then both stay. eps_train 0.2 for
a test eps of 0.1, as Gowal et al. do on MNIST. The ONNX file is written after every epoch.

Writes testdata/certify/mnist-ibp.onnx (opset 13, input "input", output "logits", dynamic
batch) and prints clean accuracy and IBP-certified accuracy at eps 0.1 on the first 1,000
test images (PyTorch float32, for a cross-check of advcheck's float64 certificates).
"""

import argparse
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "zoo"))
import zoonets  # noqa: E402


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 4, stride=2)
        self.conv2 = nn.Conv2d(16, 32, 4, stride=2)
        self.fc1 = nn.Linear(800, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)

    def ibp_margins(self, x, y, eps):
        """Lower bounds of z_y - z_j (N x 10, 0 at j = y) over the eps-ball in [0, 1]."""
        lo, hi = (x - eps).clamp(0, 1), (x + eps).clamp(0, 1)

        def affine(lo, hi, f, w):
            mid, rad = (hi + lo) / 2, (hi - lo) / 2
            mid = f(mid)
            rad = f(rad, w.abs())
            return mid - rad, mid + rad

        c1 = lambda t, w=None: F.conv2d(t, self.conv1.weight if w is None else w, self.conv1.bias if w is None else None, stride=2)
        lo, hi = affine(lo, hi, c1, self.conv1.weight)
        lo, hi = lo.relu(), hi.relu()
        c2 = lambda t, w=None: F.conv2d(t, self.conv2.weight if w is None else w, self.conv2.bias if w is None else None, stride=2)
        lo, hi = affine(lo, hi, c2, self.conv2.weight)
        lo, hi = lo.relu().flatten(1), hi.relu().flatten(1)
        f1 = lambda t, w=None: F.linear(t, self.fc1.weight if w is None else w, self.fc1.bias if w is None else None)
        lo, hi = affine(lo, hi, f1, self.fc1.weight)
        lo, hi = lo.relu(), hi.relu()
        # Elision: the margin rows W_y - W_j applied to the last hidden box.
        w = self.fc2.weight[y].unsqueeze(1) - self.fc2.weight.unsqueeze(0)  # N x 10 x 100
        b = self.fc2.bias[y].unsqueeze(1) - self.fc2.bias.unsqueeze(0)      # N x 10
        mid, rad = (hi + lo) / 2, (hi - lo) / 2
        return torch.einsum("nkh,nh->nk", w, mid) - torch.einsum("nkh,nh->nk", w.abs(), rad) + b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--ramp", type=int, default=2)
    ap.add_argument("--train-size", type=int, default=30000)
    ap.add_argument("--stop-after", type=int, default=0, help="stop after this many epochs (0: all); the schedule stays that of --epochs")
    ap.add_argument("--eps-train", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "mnist-ibp.onnx"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    xtr, ytr = zoonets.load_mnist(args.data, "train")
    xte, yte = zoonets.load_mnist(args.data, "test")
    xtr, ytr = torch.from_numpy(xtr[:args.train_size]), torch.from_numpy(ytr[:args.train_size])
    xte, yte = torch.from_numpy(xte[:1000]), torch.from_numpy(yte[:1000])
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 100
    steps = len(xtr) // batch
    t0 = time.time()
    for epoch in range(args.epochs):
        if args.stop_after and epoch >= args.stop_after:
            break
        if epoch == args.epochs - 1:
            for g in opt.param_groups:
                g["lr"] = 1e-4
        perm = torch.randperm(len(xtr))
        model.train()
        for s in range(steps):
            # progress through the ramp, in [0, 1]
            t = min((epoch + s / steps) / args.ramp, 1.0)
            eps, kappa = args.eps_train * t, 1.0 - 0.5 * t
            idx = perm[s * batch:(s + 1) * batch]
            x, y = xtr[idx], ytr[idx]
            loss = kappa * F.cross_entropy(model(x), y)
            if kappa < 1:
                loss = loss + (1 - kappa) * F.cross_entropy(-model.ibp_margins(x, y, eps), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if s % 100 == 99:
                print("%s   step %d/%d loss %.3f" % (time.strftime("%H:%M:%S"), s + 1, steps, loss.item()), flush=True)
        model.eval()
        with torch.no_grad():
            clean = (model(xte).argmax(1) == yte).float().mean().item()
            cert = (model.ibp_margins(xte, yte, 0.1).topk(2, dim=1, largest=False).values[:, 1] > 0).float().mean().item()
        print("%s epoch %d eps %.3f kappa %.2f clean %.3f ibp-certified@0.1 %.3f (%.0f s)" % (
            time.strftime("%H:%M:%S"), epoch + 1, eps, kappa, clean, cert, time.time() - t0), flush=True)
        export(model, args.out)


def export(model, out):
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    print("wrote", out, os.path.getsize(out), "bytes", flush=True)


if __name__ == "__main__":
    main()
