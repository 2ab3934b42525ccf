#!/usr/bin/python3
"""The reference APGD-L1 (fra31/auto-attack, "Mind the box") on a zoo model, for advcheck's.

Usage (from the repository root, MNIST in data/mnist, the reference code unpacked in DIR):

    /usr/bin/python3 testdata/zoo/apgd_l1_reference.py --autoattack DIR \\
        --model models/zoo/mnist-cnn-adv.onnx --n 100 --eps 5 --json /tmp/apgd-l1-ref.json

Runs the reference's APGDAttack with norm='L1' and the cross-entropy loss, 100 iterations,
as AutoAttack's L1 version sets it (use_largereps: 30 iterations at 3·eps, 30 at 2·eps,
40 at eps), seed --seed (0), on the first --n MNIST test images with the weights read from the ONNX
file, once with 1 restart and once with --restarts (AutoAttack: 5). Writes the robust
accuracy of each and the L1 norm of every returned perturbation.
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoonets  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--autoattack", required=True, help="directory holding the autoattack package")
    ap.add_argument("--model", default="models/zoo/mnist-cnn-adv.onnx")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--eps", type=float, default=5.0)
    ap.add_argument("--restarts", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    sys.path.insert(0, args.autoattack)
    from autoattack.autopgd_base import APGDAttack  # noqa: E402

    model = zoonets.module_from_onnx(args.model)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    xte, yte = zoonets.load_mnist(args.data, "test")
    x, y = torch.from_numpy(xte[:args.n]), torch.from_numpy(yte[:args.n])
    out = {"model": args.model, "n": args.n, "eps": args.eps, "seed": args.seed, "torch": torch.__version__,
           "runs": []}
    with torch.no_grad():
        correct = (model(x).argmax(1) == y)
    out["clean_percent"] = 100.0 * correct.float().mean().item()
    for restarts in sorted({1, args.restarts}):
        apgd = APGDAttack(model, norm="L1", eps=args.eps, n_iter=100, n_restarts=restarts, loss="ce",
                          rho=.75, seed=args.seed, device="cpu", use_largereps=True)
        t0 = time.time()
        adv = apgd.perturb(x, y)
        with torch.no_grad():
            robust = (model(adv).argmax(1) == y) & correct
        l1 = (adv - x).abs().flatten(1).sum(1)
        run = {"restarts": restarts, "robust_percent": 100.0 * robust.float().mean().item(),
               "seconds": time.time() - t0, "max_l1": l1.max().item(),
               "robust": robust.int().tolist()}
        out["runs"].append(run)
        print("APGD-CE L1 eps %g, %d restarts, %d images: clean %.1f%%, robust %.1f%% (max L1 %.4f, %.0f s)" % (
            args.eps, restarts, args.n, out["clean_percent"], run["robust_percent"], run["max_l1"], run["seconds"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
