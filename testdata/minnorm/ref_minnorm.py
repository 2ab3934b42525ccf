#!/usr/bin/python3
"""Median minimal norms of the published minimal-norm attacks on the zoo CNN.

The reference side of the comparison in docs/attacks.md ("Minimal-norm attacks"): it runs the
published PyTorch implementations on the zoo CNN (weights read from models/zoo/mnist-cnn.onnx by
testdata/zoo/zoonets.py) and the first --n MNIST test images, and prints per attack the median
minimal norm over the samples the model classifies correctly (+inf for a sample the attack did not
break), with the quartiles. advcheck's side is `advcheck sweep --attack ...` on the same images
(the commands are in docs/attacks.md).

Implementations (not vendored; give the directories of their source trees):
- --adv-lib: Jérôme Rony's adversarial-library (github.com/jeromerony/adversarial-library):
  carlini_wagner_l2 (the authors' CW-L2 ported to PyTorch: binary search over c, Adam, tanh box),
  df (DeepFool, L2 and L-inf) and fmn (Fast Minimum-Norm, ported from the authors' code,
  github.com/pralab/Fast-Minimum-Norm-FMN-Attack);
- --torchattacks (optional): Harry24k/adversarial-attacks-pytorch, for a second DeepFool-L2.

    /usr/bin/python3 testdata/minnorm/ref_minnorm.py --adv-lib /tmp/adversarial-library \
        --torchattacks /tmp/adversarial-attacks-pytorch --n 200 --json /tmp/ref.json

adv_lib imports visdom and tqdm for logging and progress only; they are replaced by empty modules
so that Debian's python3-torch suffices. torchattacks' DeepFool is imported without the package's
__init__ (which imports every attack, some needing scipy).
"""

import argparse
import json
import math
import os
import sys
import time
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "testdata", "zoo"))
import zoonets  # noqa: E402


def norms(adv, x, p):
    d = (adv.double() - x.double()).flatten(1)
    if p == "linf":
        return d.abs().amax(1)
    if p == "l1":
        return d.abs().sum(1)
    return d.norm(p=2, dim=1)


def summarise(v):
    v = np.sort(np.asarray(v, dtype=np.float64))
    # Linear interpolation between order statistics, as advcheck's metrics.Percentile.
    q = lambda f: float(np.percentile(v, f)) if len(v) else float("nan")  # noqa: E731
    return {"median": q(50), "p25": q(25), "p75": q(75), "unbroken": int(np.isinf(v).sum()), "n": len(v)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adv-lib", required=True)
    ap.add_argument("--torchattacks")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "zoo", "mnist-cnn.onnx"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--cw-n", type=int, default=100, help="images for CW (the slowest)")
    ap.add_argument("--cw-steps", type=int, default=1000)
    ap.add_argument("--cw-binary-steps", type=int, default=9)
    ap.add_argument("--df-steps", type=int, default=50)
    ap.add_argument("--fmn-steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--only", default="df-l2,df-linf,ta-df-l2,fmn-linf,fmn-l2,fmn-l1,cw")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    for name in ("visdom", "tqdm"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["tqdm"].tqdm = None
    sys.path.insert(0, args.adv_lib)
    from adv_lib.attacks.carlini_wagner.l2 import carlini_wagner_l2
    from adv_lib.attacks.deepfool import df
    from adv_lib.attacks.fast_minimum_norm import fmn

    model = zoonets.module_from_onnx(args.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x_all, y_all = zoonets.load_mnist(args.data, "test")
    x_all, y_all = torch.from_numpy(x_all[: args.n]), torch.from_numpy(y_all[: args.n])
    with torch.no_grad():
        pred = model(x_all).argmax(1)
    correct = (pred == y_all).nonzero().flatten()

    runs = {
        "df-l2": ("l2", lambda x, y: df(model, x, y, steps=args.df_steps, overshoot=0.02, norm=2)),
        "df-linf": ("linf", lambda x, y: df(model, x, y, steps=args.df_steps, overshoot=0.02, norm=float("inf"))),
        "fmn-linf": ("linf", lambda x, y: fmn(model, x, y, norm=float("inf"), steps=args.fmn_steps)),
        "fmn-l2": ("l2", lambda x, y: fmn(model, x, y, norm=2, steps=args.fmn_steps)),
        "fmn-l1": ("l1", lambda x, y: fmn(model, x, y, norm=1, steps=args.fmn_steps)),
        "cw": ("l2", lambda x, y: carlini_wagner_l2(model, x, y, binary_search_steps=args.cw_binary_steps,
                                                      max_iterations=args.cw_steps, initial_const=1e-3,
                                                      learning_rate=1e-2, confidence=0, abort_early=True)),
    }
    if args.torchattacks:
        # Import torchattacks' DeepFool without the package's __init__, which
        # imports every attack (and scipy for some).
        for pkg, sub in (("torchattacks", ""), ("torchattacks.attacks", "attacks")):
            mod = types.ModuleType(pkg)
            mod.__path__ = [os.path.join(args.torchattacks, "torchattacks", sub)]
            sys.modules[pkg] = mod
        from torchattacks.attacks.deepfool import DeepFool
        ta = DeepFool(model, steps=args.df_steps, overshoot=0.02)
        runs["ta-df-l2"] = ("l2", lambda x, y: ta(x, y))

    out = {"model": os.path.relpath(args.model, ROOT), "n": args.n, "n_correct": int(len(correct)),
           "cw_n": args.cw_n, "cw_steps": args.cw_steps, "cw_binary_steps": args.cw_binary_steps,
           "df_steps": args.df_steps, "fmn_steps": args.fmn_steps, "batch": args.batch, "attacks": {}}
    for name in args.only.split(","):
        if name not in runs:
            continue
        p, run = runs[name]
        idx = correct[correct < args.cw_n] if name == "cw" else correct
        t0 = time.time()
        dist = []
        for s in range(0, len(idx), args.batch):
            b = idx[s:s + args.batch]
            x, y = x_all[b], y_all[b]
            adv = run(x, y).detach()
            with torch.no_grad():
                ok = model(adv).argmax(1) == y
            d = norms(adv, x, p)
            d[ok] = math.inf
            dist += d.tolist()
            if len(idx) > args.batch:
                print("  %s: %d of %d samples (%.0f s)" % (name, len(dist), len(idx), time.time() - t0),
                      file=sys.stderr, flush=True)
        res = summarise(dist)
        res.update({"norm": p, "seconds": round(time.time() - t0, 1), "per_sample": dist})
        out["attacks"][name] = res
        print("%-9s %-4s n=%d median %.5g  p25 %.5g  p75 %.5g  unbroken %d  (%.0f s)" % (
            name, p, res["n"], res["median"], res["p25"], res["p75"], res["unbroken"], res["seconds"]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
