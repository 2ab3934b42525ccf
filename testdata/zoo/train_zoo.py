#!/usr/bin/python3
"""Train and export the MNIST model zoo that advcheck embeds (models/zoo/*.onnx).

Regenerate (from the repository root, MNIST in data/mnist: ./scripts/fetch-mnist.sh data/mnist):

    /usr/bin/python3 testdata/zoo/train_zoo.py --which mlp --epochs 10 --seed 1
    /usr/bin/python3 testdata/zoo/train_zoo.py --which cnn --epochs 6 --seed 1
    /usr/bin/python3 testdata/zoo/train_zoo.py --which cnn-adv --epochs 3 --seed 1

(--which all runs the three in turn with their default epoch counts, which are the ones above.)
Every run rewrites models/zoo/zoo.json (the index advcheck embeds: SHA-256, clean accuracy of the
ONNX file on the 10k test split, how it was trained); --index-only just rewrites it.

- mnist-mlp:     784-256-256-10 ReLU MLP, Adam, cross-entropy on clean images.
- mnist-cnn:     the PyTorch MNIST example CNN (dropout 0.25/0.5 during training), Adam.
- mnist-cnn-adv: the same CNN without dropout, PGD adversarial training (Madry et al. 2018):
                 L-inf eps 0.3, random start, 10 steps of 2.5*eps/10, inputs kept in [0, 1],
                 eps ramped linearly from 0 to 0.3 over the first epoch.

Training runs on the 60k training split; clean accuracy is reported on the full 10k test split.
Each model is exported with torch.onnx.export (opset 13, input "input" N x 1 x 28 x 28 in [0, 1],
output "logits", dynamic batch axis, constant folding). A state_dict checkpoint is written to
--ckpt-dir after every epoch (resume with --resume PATH), with a one-line JSON summary beside it.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoonets  # noqa: E402

DEFAULT_EPOCHS = {"mlp": 10, "cnn": 6, "cnn-adv": 3}
FILES = {"mlp": "mnist-mlp.onnx", "cnn": "mnist-cnn.onnx", "cnn-adv": "mnist-cnn-adv.onnx"}
DESCRIPTIONS = {
    "mlp": "MLP 784-256-256-10 with ReLU, standard training (Adam). Raw logits.",
    "cnn": "CNN conv3x3(32)-conv3x3(64)-maxpool2-fc128-fc10 with ReLU (the PyTorch MNIST example), "
           "standard training (Adam, dropout). Raw logits.",
    "cnn-adv": "The mnist-cnn architecture adversarially trained with PGD (Madry et al. 2018): L-inf "
               "eps 0.3, random start, 10 steps of 0.075. Raw logits.",
}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        torch.use_deterministic_algorithms(True)
    except Exception as e:  # pragma: no cover
        log("deterministic algorithms not available:", e)


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def pgd_linf(model, x, y, eps, alpha, steps, gen):
    """PGD on the cross-entropy, L-inf ball of radius eps around x intersected with [0, 1], random start."""
    if eps <= 0:
        return x
    delta = (torch.rand(x.shape, generator=gen) * 2 - 1) * eps
    x_adv = (x + delta).clamp(0, 1)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + alpha * g.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    return x_adv.detach()


def train(which, args, xtr, ytr, xte, yte):
    seed_all(args.seed)
    epochs = args.epochs or DEFAULT_EPOCHS[which]
    if which == "mlp":
        model = zoonets.MnistMLP()
    elif which == "cnn":
        model = zoonets.MnistCNN(dropout=(0.25, 0.5))
    else:
        model = zoonets.MnistCNN(dropout=(0.0, 0.0))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed + 1)  # shuffling
    agen = torch.Generator().manual_seed(args.seed + 2)  # PGD random starts
    n = len(xtr)
    steps_per_epoch = math.ceil(n / args.batch)
    total_steps = epochs * steps_per_epoch
    start_epoch = 0
    if args.resume:
        ck = torch.load(args.resume)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        agen.set_state(ck["agen"])
        torch.set_rng_state(ck["rng"])
        start_epoch = ck["epoch"]
        log("resumed from", args.resume, "after epoch", start_epoch)

    eps_max, pgd_steps = args.eps, args.pgd_steps
    alpha = 2.5 * eps_max / pgd_steps
    log("%s: %d epochs, batch %d, Adam lr %g (cosine to 0), seed %d%s" % (
        which, epochs, args.batch, args.lr, args.seed,
        ", PGD eps %g steps %d alpha %g, eps warm-up %g epoch(s)" % (eps_max, pgd_steps, alpha, args.warmup)
        if which == "cnn-adv" else ""))
    t_start = time.time()
    for epoch in range(start_epoch, epochs):
        t0 = time.time()
        perm = torch.randperm(n, generator=gen)
        tot_loss, tot_correct = 0.0, 0
        for b in range(steps_per_epoch):
            step = epoch * steps_per_epoch + b
            lr = 0.5 * args.lr * (1 + math.cos(math.pi * step / total_steps))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = perm[b * args.batch:(b + 1) * args.batch]
            x, y = xtr[idx], ytr[idx]
            if which == "cnn-adv":
                eps = eps_max * min(1.0, (step + 1) / (args.warmup * steps_per_epoch)) if args.warmup > 0 else eps_max
                model.eval()
                x = pgd_linf(model, x, y, eps, 2.5 * eps / pgd_steps, pgd_steps, agen)
            model.train()
            out = model(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot_loss += loss.item() * len(y)
            tot_correct += (out.argmax(1) == y).sum().item()
            if args.log_every and (b + 1) % args.log_every == 0:
                el = time.time() - t0
                log("  epoch %d batch %d/%d loss %.4f acc %.4f lr %.2e (%.0fs, epoch ETA %.0fs)" % (
                    epoch + 1, b + 1, steps_per_epoch, tot_loss / ((b + 1) * args.batch),
                    tot_correct / ((b + 1) * args.batch), lr, el, el / (b + 1) * steps_per_epoch))
        dt = time.time() - t0
        test_acc = accuracy(model, xte, yte)
        msg = "%s epoch %d/%d: train loss %.4f train acc %.4f test acc %.4f (%.1fs)" % (
            which, epoch + 1, epochs, tot_loss / n, tot_correct / n, test_acc, dt)
        if which == "cnn-adv":
            model.eval()
            g = torch.Generator().manual_seed(1234)
            xa = pgd_linf(model, xte[:500], yte[:500], eps_max, 0.01, 20, g)
            msg += ", PGD-20 eps %.2f acc on 500 test images %.3f" % (eps_max, accuracy(model, xa, yte[:500]))
        log(msg)
        ck = os.path.join(args.ckpt_dir, "advcheck-zoo-%s-epoch%d.pt" % (which, epoch + 1))
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                    "agen": agen.get_state(), "rng": torch.get_rng_state(), "epoch": epoch + 1}, ck)
    wall = time.time() - t_start
    model.eval()
    test_acc = accuracy(model, xte, yte)
    path = os.path.join(args.out, FILES[which])
    zoonets.export_onnx(model, path)
    # The exported file must give back the same network.
    back = zoonets.module_from_onnx(path)
    same = torch.allclose(back(xte[:256]), model(xte[:256]), atol=1e-5)
    log("%s: clean test accuracy %.4f, wrote %s (%d bytes), reload check %s, training took %.0fs" % (
        which, test_acc, path, os.path.getsize(path), "ok" if same else "FAILED", wall))
    if not same:
        sys.exit(1)
    summary = {"name": "mnist-" + which, "file": FILES[which], "clean_accuracy": test_acc, "seed": args.seed,
               "epochs": epochs, "seconds": round(wall), "batch": args.batch, "lr": args.lr}
    with open(os.path.join(args.ckpt_dir, "advcheck-zoo-%s.json" % which), "w") as f:
        json.dump(summary, f)
    print(json.dumps(summary), flush=True)
    return summary


def sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_index(out, xte, yte, updates):
    """Rewrite out/zoo.json from the .onnx files present; updates: which -> {seed, epochs}."""
    path = os.path.join(out, "zoo.json")
    old = {}
    if os.path.exists(path):
        with open(path) as f:
            old = {e["name"]: e for e in json.load(f)}
    index = []
    for which, fname in FILES.items():
        onnx_path = os.path.join(out, fname)
        if not os.path.exists(onnx_path):
            continue
        name = "mnist-" + which
        meta = {"seed": 1, "epochs": DEFAULT_EPOCHS[which]}
        meta.update({k: old[name][k] for k in ("seed", "epochs") if name in old})
        meta.update(updates.get(which, {}))
        model = zoonets.module_from_onnx(onnx_path)
        acc = accuracy(model, xte, yte)
        index.append({
            "name": name,
            "file": fname,
            "sha256": sha256(onnx_path),
            "description": DESCRIPTIONS[which],
            "input": {"shape": [1, 28, 28], "layout": "nchw", "bounds": [0, 1]},
            "classes": [str(i) for i in range(10)],
            "clean_accuracy": acc,
            "trained_by": "testdata/zoo/train_zoo.py --which %s --epochs %d --seed %d" % (
                which, meta["epochs"], meta["seed"]),
            "seed": meta["seed"],
            "epochs": meta["epochs"],
        })
        log("index: %s sha256 %s clean accuracy %.4f" % (name, index[-1]["sha256"], acc))
    with open(path, "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/mnist", help="directory with the MNIST IDX files")
    p.add_argument("--out", default="models/zoo", help="output directory for the .onnx files")
    p.add_argument("--which", default="all", choices=["mlp", "cnn", "cnn-adv", "all"])
    p.add_argument("--epochs", type=int, default=0, help="epochs (0: %s)" % DEFAULT_EPOCHS)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eps", type=float, default=0.3, help="cnn-adv: L-inf radius")
    p.add_argument("--pgd-steps", type=int, default=10, help="cnn-adv: PGD steps per training batch")
    p.add_argument("--warmup", type=float, default=1.0, help="cnn-adv: epochs over which eps ramps up")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ckpt-dir", default="/tmp")
    p.add_argument("--resume", default="", help="checkpoint written by an earlier run (single model)")
    p.add_argument("--log-every", type=int, default=0, help="log every N batches (0: per epoch only)")
    p.add_argument("--max-train", type=int, default=0, help="use only the first N training images (tests)")
    p.add_argument("--index-only", action="store_true", help="only rewrite zoo.json from the .onnx files")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    xtr, ytr = zoonets.load_mnist(args.data, "train")
    xte, yte = zoonets.load_mnist(args.data, "test")
    xtr, ytr, xte, yte = map(torch.from_numpy, (xtr, ytr, xte, yte))
    if args.max_train:
        xtr, ytr = xtr[:args.max_train], ytr[:args.max_train]
    log("MNIST: %d train, %d test images; torch %s, %d threads" % (len(xtr), len(xte), torch.__version__,
                                                                    torch.get_num_threads()))
    todo = ["mlp", "cnn", "cnn-adv"] if args.which == "all" else [args.which]
    updates = {}
    if not args.index_only:
        for w in todo:
            s = train(w, args, xtr, ytr, xte, yte)
            updates[w] = {"seed": s["seed"], "epochs": s["epochs"]}
    if not args.max_train:
        write_index(args.out, xte, yte, updates)


if __name__ == "__main__":
    main()
