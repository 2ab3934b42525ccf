#!/usr/bin/python3
"""Goldens for FAB's projections from the authors' reference code.

Usage (from the repository root; DIR holds the autoattack package of
https://github.com/fra31/auto-attack, e.g. an unpacked clone):

    /usr/bin/python3 testdata/gen_fab_golden.py --autoattack DIR

Writes testdata/golden/fab/{t,w,b}.npy (the problems: points in [0, 1] with many
coordinates exactly at 0 or 1 as in MNIST, hyperplane normals with some zeros, offsets
that make some problems reachable inside the box and some not) and
{linf,l2,l1}.npy, the perturbations projection_linf, projection_l2 and projection_l1
of autoattack/fab_projections.py return for them, computed in float64 on values that
are exact in float32.
"""

import argparse
import os
import sys

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--autoattack", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "fab"))
    args = ap.parse_args()
    sys.path.insert(0, args.autoattack)
    from autoattack.fab_projections import projection_l1, projection_l2, projection_linf

    rng = np.random.default_rng(14)
    n, d = 24, 37
    t = rng.uniform(0, 1, (n, d))
    t[rng.uniform(size=(n, d)) < 0.3] = 0.0
    t[rng.uniform(size=(n, d)) < 0.1] = 1.0
    w = rng.normal(size=(n, d))
    w[rng.uniform(size=(n, d)) < 0.1] = 0.0
    # Offsets from "just across" to "far out of the box", on both sides.
    scale = np.abs(w).sum(1) * np.concatenate([rng.uniform(0.001, 0.05, n // 2), rng.uniform(0.1, 3, n - n // 2)])
    b = (w * t).sum(1) + scale * rng.choice([-1.0, 1.0], n)
    t, w, b = (v.astype(np.float32).astype(np.float64) for v in (t, w, b))
    os.makedirs(args.out, exist_ok=True)
    for name, v in (("t", t), ("w", w), ("b", b)):
        np.save(os.path.join(args.out, name + ".npy"), v.astype(np.float32))
    tt, tw, tb = (torch.from_numpy(v) for v in (t, w, b))
    for name, f in (("linf", projection_linf), ("l2", projection_l2), ("l1", projection_l1)):
        out = f(tt.clone(), tw.clone(), tb.clone()).numpy()
        np.save(os.path.join(args.out, name + ".npy"), out)
        print(name, "max |d|", np.abs(out).max())


if __name__ == "__main__":
    main()
