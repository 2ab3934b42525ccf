#!/usr/bin/python3
"""The reference AutoAttack (fra31/auto-attack) on a zoo model, for comparison with advcheck's.

Usage (from the repository root, MNIST in data/mnist, the reference code unpacked in DIR, e.g.
from a clone of https://github.com/fra31/auto-attack):

    /usr/bin/python3 testdata/zoo/autoattack_reference.py --autoattack DIR \\
        --model models/zoo/mnist-cnn-adv.onnx --n 1000 --eps 0.3 --json /tmp/aa-ref.json

Runs, on the first --n MNIST test images, with the weights read from the ONNX file
(zoonets.module_from_onnx):

- AutoAttack version='standard' at L-inf --eps, seed 0: APGD-CE, APGD-T (9 targets), FAB-T
  (9 targets), Square (5,000 queries), each on the samples the ones before left robust; the
  robust accuracy after each component comes from the reference's own log;
  --stages runs only the first of these (e.g. apgd-ce,apgd-t), each with the standard settings;
- FAB-T alone (the reference's FABAttack_PT, targeted, 9 target classes, 100 iterations,
  1 restart, alpha_max 0.1, eta 1.05, beta 0.9) with an eps so large that it never rejects a
  point, on the first --fab-n images: the L-inf norm of each sample's adversarial point (the
  median minimal norm over the correctly classified samples; samples FAB-T does not break count
  as infinitely far).

Prints and writes (--json) the numbers; torch uses --threads CPU threads.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoonets  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--autoattack", required=True, help="directory holding the autoattack package")
    ap.add_argument("--model", default="models/zoo/mnist-cnn-adv.onnx")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--fab-n", type=int, default=1000)
    ap.add_argument("--eps", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bs", type=int, default=250)
    ap.add_argument("--skip-standard", action="store_true")
    ap.add_argument("--stages", default="apgd-ce,apgd-t,fab-t,square",
                    help="the first stages of the standard protocol to run (a prefix of the default)")
    ap.add_argument("--json")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    sys.path.insert(0, args.autoattack)
    from autoattack import AutoAttack  # noqa: E402
    from autoattack.fab_pt import FABAttack_PT  # noqa: E402

    model = zoonets.module_from_onnx(args.model)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    xte, yte = zoonets.load_mnist(args.data, "test")
    out = {"model": args.model, "n": args.n, "eps": args.eps, "torch": torch.__version__,
           "threads": args.threads}

    if not args.skip_standard:
        x, y = torch.from_numpy(xte[:args.n]), torch.from_numpy(yte[:args.n])
        log = tempfile.NamedTemporaryFile("r", suffix=".log", delete=False)
        aa = AutoAttack(model, norm="Linf", eps=args.eps, version="standard", seed=0, device="cpu",
                        log_path=log.name)
        stages = args.stages.split(",")
        if stages != aa.attacks_to_run[:len(stages)]:
            sys.exit("--stages must be a prefix of %s" % ",".join(aa.attacks_to_run))
        aa.attacks_to_run = stages  # the standard settings, only the first stages
        out["stages"] = stages
        t0 = time.time()
        aa.run_standard_evaluation(x, y, bs=args.bs)
        out["standard_seconds"] = time.time() - t0
        text = open(log.name).read()
        os.unlink(log.name)
        acc = {}
        m = re.search(r"initial accuracy: ([0-9.]+)%", text)
        acc["clean"] = float(m.group(1))
        for name, val in re.findall(r"robust accuracy after ([A-Z-]+): ([0-9.]+)%", text):
            acc[name.lower()] = float(val)
        out["standard_accuracy_percent"] = acc
        out["standard_log"] = text
        print(text)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=1)

    n = args.fab_n
    if n == 0:
        return
    x, y = torch.from_numpy(xte[:n]), torch.from_numpy(yte[:n])
    fab = FABAttack_PT(model, norm="Linf", n_restarts=1, n_iter=100, eps=1e6, alpha_max=0.1, eta=1.05,
                       beta=0.9, targeted=True, n_target_classes=9, seed=0, device="cpu")
    t0 = time.time()
    adv = torch.cat([fab.perturb(x[i:i + args.bs], y[i:i + args.bs]) for i in range(0, n, args.bs)])
    out["fab_t_seconds"] = time.time() - t0
    with torch.no_grad():
        correct = model(x).argmax(1) == y
        broken = model(adv).argmax(1) != y
    norms = (adv - x).abs().flatten(1).max(1)[0].numpy().astype(np.float64)
    norms[~broken.numpy()] = np.inf
    norms = norms[correct.numpy()]
    out["fab_t"] = {"n": n, "n_correct": int(correct.sum()), "n_broken": int(np.isfinite(norms).sum()),
                    "median_linf": float(np.median(norms)), "norms": [None if not np.isfinite(v) else float(v)
                                                                   for v in norms]}
    print("FAB-T on %d images: %d correct, %d broken, median minimal L-inf norm %.5f (%.0f s)" % (
        n, out["fab_t"]["n_correct"], out["fab_t"]["n_broken"], out["fab_t"]["median_linf"],
        out["fab_t_seconds"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
