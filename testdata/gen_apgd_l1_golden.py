#!/usr/bin/python3
"""Goldens for APGD-L1's projection onto the L1 ball inside the box, from the authors' code.

Usage (from the repository root; DIR holds the autoattack package of
https://github.com/fra31/auto-attack, e.g. an unpacked clone):

    /usr/bin/python3 testdata/gen_apgd_l1_golden.py --autoattack DIR

Writes testdata/golden/apgd_l1/{x,y,eps}.npy (the problems: centres x in [0, 1] with many
coordinates exactly at 0 or 1 as in MNIST, perturbations y of several scales, some leaving the
box and some exactly zero, radii from far below to above ‖y‖₁) and delta.npy, the correction
L1_projection(x, y, eps) of autoattack/autopgd_base.py returns (x + y + delta is the projected
point), computed by the reference in float32. Rows 0-23 have 37 coordinates; rows 24-27 are
MNIST-sized (784) and are stored in a second set of files with the suffix _784.
"""

import argparse
import os
import sys

import numpy as np
import torch


def problems(rng, n, d):
    x = rng.uniform(0, 1, (n, d))
    x[rng.uniform(size=(n, d)) < 0.3] = 0.0
    x[rng.uniform(size=(n, d)) < 0.1] = 1.0
    scale = np.geomspace(0.01, 2, n)[:, None]
    y = rng.normal(size=(n, d)) * scale
    y[rng.uniform(size=(n, d)) < 0.1] = 0.0
    l1 = np.abs(y).sum(1)
    # Radii from a hundredth of ‖y‖₁ to beyond it (then only the box is active).
    eps = l1 * np.concatenate([rng.uniform(0.01, 0.9, n - n // 4), rng.uniform(1.0, 2.0, n // 4)])
    return [v.astype(np.float32) for v in (x, y, eps)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--autoattack", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "apgd_l1"))
    args = ap.parse_args()
    sys.path.insert(0, args.autoattack)
    from autoattack.autopgd_base import L1_projection

    rng = np.random.default_rng(21)
    os.makedirs(args.out, exist_ok=True)
    for suffix, n, d in (("", 24, 37), ("_784", 4, 784)):
        x, y, eps = problems(rng, n, d)
        delta = np.stack([L1_projection(torch.from_numpy(x[i:i + 1]), torch.from_numpy(y[i:i + 1]),
                                        float(eps[i])).numpy()[0] for i in range(n)])
        for name, v in (("x", x), ("y", y), ("eps", eps), ("delta", delta)):
            np.save(os.path.join(args.out, name + suffix + ".npy"), v.astype(np.float32))
        p = x + y + delta
        print("d=%d: max L1 excess %.2e, box violation %.2e" % (
            d, (np.abs(p - x).sum(1) - eps).max(), max(-p.min(), p.max() - 1, 0)))


if __name__ == "__main__":
    main()
