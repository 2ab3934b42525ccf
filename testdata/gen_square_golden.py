#!/usr/bin/python3
"""Goldens for the L2 and L1 Square attack's window patterns from the reference code.

Usage (from the repository root; DIR holds the autoattack package of
https://github.com/fra31/auto-attack):

    /usr/bin/python3 testdata/gen_square_golden.py --autoattack DIR

Writes testdata/golden/square/eta_S.npy for S in 1, 3, 4, 5, 9, 28: SquareAttack.eta(S)
with norm='L2', untransposed (the reference transposes it with probability 1/2), and
eta_l1_S.npy, the same with norm='L1'.
"""

import argparse
import os
import sys

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--autoattack", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "square"))
    args = ap.parse_args()
    sys.path.insert(0, args.autoattack)
    from autoattack.square import SquareAttack

    sq = SquareAttack(lambda x: x, norm="L2", eps=1.0, device="cpu")
    sq1 = SquareAttack(lambda x: x, norm="L1", eps=1.0, device="cpu")
    rand = torch.rand
    torch.rand = lambda *a, **k: torch.zeros(1)  # never transpose
    try:
        os.makedirs(args.out, exist_ok=True)
        for s in (1, 3, 4, 5, 9, 28):
            np.save(os.path.join(args.out, "eta_%d.npy" % s), sq.eta(s).double().numpy())
            np.save(os.path.join(args.out, "eta_l1_%d.npy" % s), sq1.eta(s).double().numpy())
    finally:
        torch.rand = rand


if __name__ == "__main__":
    main()
