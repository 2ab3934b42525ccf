#!/usr/bin/python3
"""The reference AutoAttack (fra31/auto-attack) on a zoo model, for comparison with advcheck's.

Usage (from the repository root, MNIST in data/mnist, the reference code unpacked in DIR, e.g.
from a clone of https://github.com/fra31/auto-attack):

    /usr/bin/python3 testdata/zoo/autoattack_reference.py --autoattack DIR \\
        --model models/zoo/mnist-cnn-adv.onnx --n 1000 --eps 0.3 --json /tmp/aa-ref.json

Runs, on the first --n MNIST test images, with the weights read from the ONNX file
(zoonets.module_from_onnx):

- AutoAttack version='standard' at --norm (L-inf by default) and --eps, seed --seed (0):
  APGD-CE, APGD-T (9 targets; L1: APGD-CE with 5 restarts and APGD-T with 5 targets, both with
  the large-eps schedule), FAB-T (9 targets), Square (5,000 queries), each on the samples the
  ones before left robust, with the reference's run_standard_evaluation (one call per batch,
  see below); the robust accuracy after each component, and each sample's final robust flag
  (--json "robust");
  --stages runs only the first of these (e.g. apgd-ce,apgd-t), each with the standard settings;
- FAB-T alone (the reference's FABAttack_PT, targeted, 9 target classes, 100 iterations,
  1 restart, alpha_max 0.1, eta 1.05, beta 0.9) with an eps so large that it never rejects a
  point, on the first --fab-n images: the L-inf norm of each sample's adversarial point (the
  median minimal norm over the correctly classified samples; samples FAB-T does not break count
  as infinitely far).

Prints and writes (--json) the numbers; torch uses --threads CPU threads.

The standard protocol runs batch by batch, exactly as the reference's run_standard_evaluation
batches it (each stage on the samples the stages before left robust, in index order, --bs at a
time, the seed set again for every batch: the same batches see the same random draws), but through
this script: after each batch the
per-sample robust flags go to --state FILE, and a run given an existing FILE goes on from the
next batch. The full protocol on 1,000 images takes hours on a 2-core host; this lets it run
in several sittings with the same result as one. (The reference's own state_path cannot resume
here: it writes its set of attacks with str() and reads back a string it then refuses, and a
resumed run that breaks a sample fails on an undefined y_adv.)
"""

import argparse
import json
import os
import sys
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
    ap.add_argument("--norm", default="Linf", choices=["Linf", "L2", "L1"],
                    help="the standard protocol's threat model (FAB-T alone, --fab-n, is L-inf only)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="the standard protocol's seed")
    ap.add_argument("--bs", type=int, default=250)
    ap.add_argument("--skip-standard", action="store_true")
    ap.add_argument("--stages", default="apgd-ce,apgd-t,fab-t,square",
                    help="the first stages of the standard protocol to run (a prefix of the default)")
    ap.add_argument("--json")
    ap.add_argument("--state", help="keep the standard protocol's progress here; go on from it if it exists")
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
    out = {"model": args.model, "n": args.n, "norm": args.norm, "eps": args.eps, "seed": args.seed,
           "torch": torch.__version__,
           "threads": args.threads}

    if not args.skip_standard:
        run_standard(args, model, AutoAttack, xte, yte, out)

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


def run_standard(args, model, AutoAttack, xte, yte, out):
    """AutoAttack version='standard' at --norm, --eps, batch by batch, with the state in --state."""
    x, y = torch.from_numpy(xte[:args.n]), torch.from_numpy(yte[:args.n])
    aa = AutoAttack(model, norm=args.norm, eps=args.eps, version="standard", seed=args.seed, device="cpu")
    stages = args.stages.split(",")
    if stages != aa.attacks_to_run[:len(stages)]:
        sys.exit("--stages must be a prefix of %s" % ",".join(aa.attacks_to_run))
    out["stages"] = stages
    key = {"model": args.model, "n": args.n, "norm": args.norm, "eps": args.eps, "bs": args.bs, "seed": args.seed}
    if args.state and os.path.exists(args.state):
        with open(args.state) as f:
            st = json.load(f)
        if st["key"] != key:
            sys.exit("--state %s was made for %s, not %s" % (args.state, st["key"], key))
        print("resuming from %s: %s done" % (args.state, ", ".join(st["done"]) or "no stage"), flush=True)
    else:
        # The clean pass, in batches of --bs as the reference's.
        with torch.no_grad():
            pred = torch.cat([model(x[i:i + args.bs]).argmax(1) for i in range(0, args.n, args.bs)])
        robust = (pred == y).tolist()
        st = {"key": key, "robust": robust, "done": [], "stage": None, "survivors": [], "batches": 0,
              "accuracy_percent": {"clean": 100 * sum(robust) / args.n}, "seconds": {}}
    save = (lambda: write_json(args.state, st)) if args.state else (lambda: None)
    save()
    print("initial accuracy: %.2f%%" % st["accuracy_percent"]["clean"], flush=True)
    for stage in stages:
        if stage in st["done"]:
            continue
        if st["stage"] != stage:
            st.update(stage=stage, batches=0, survivors=[i for i, r in enumerate(st["robust"]) if r])
            st["seconds"][stage] = 0.0
        surv = st["survivors"]
        n_batches = (len(surv) + args.bs - 1) // args.bs
        aa.attacks_to_run = [stage]
        aa.verbose = False
        while st["batches"] < n_batches:
            b = st["batches"]
            ids = torch.tensor(surv[b * args.bs:(b + 1) * args.bs])
            t0 = time.time()
            _, y_adv = aa.run_standard_evaluation(x[ids], y[ids], bs=args.bs, return_labels=True)
            broken = ids[y_adv != y[ids]].tolist()
            for i in broken:
                st["robust"][i] = False
            st["batches"] += 1
            st["seconds"][stage] += time.time() - t0
            save()
            print("%s - %d/%d - %d out of %d successfully perturbed (%.0f s)" % (
                stage, b + 1, n_batches, len(broken), len(ids), time.time() - t0), flush=True)
        st["accuracy_percent"][stage] = 100 * sum(st["robust"]) / args.n
        st["done"].append(stage)
        save()
        print("robust accuracy after %s: %.2f%% (%.0f s)" % (
            stage.upper(), st["accuracy_percent"][stage], st["seconds"][stage]), flush=True)
    out["standard_accuracy_percent"] = st["accuracy_percent"]
    out["standard_seconds"] = st["seconds"]
    out["robust"] = st["robust"]
    if args.json:
        write_json(args.json, out)


def write_json(path, v):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(v, f)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
