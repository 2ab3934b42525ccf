#!/usr/bin/python3
"""Robustness check of the zoo models with independent PyTorch attacks.

Regenerate the numbers in models/zoo/README.md (from the repository root, MNIST in data/mnist):

    /usr/bin/python3 testdata/zoo/eval_robust.py --json /tmp/advcheck-robust.json

The weights are read from the ONNX files themselves (initializers mapped onto the PyTorch module
by zoonets.module_from_onnx), so the numbers are about exactly the files advcheck embeds.

For each model and each L-inf eps in --eps (default 0.1, 0.2, 0.3), on the first --n (1000) MNIST
test images:
- clean accuracy;
- PGD: 40 steps of 0.01 on the cross-entropy from a uniform random start, 5 restarts; a point
  counts as broken if any iterate of any restart is misclassified (per-sample worst case);
- APGD-CE (Croce & Hein, ICML 2020, Algorithm 1): 100 iterations, eta0 = 2*eps, momentum 0.75,
  checkpoints p0 = 0, p1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06); at a checkpoint
  the step size halves (and the iterate restarts from the best point) when fewer than 75 % of
  the steps since the last checkpoint increased the loss, or when the step size was not halved
  at the last checkpoint and the best loss has not changed since; random start as in the
  authors' implementation;
- Square attack (Andriushchenko et al., ECCV 2020), L-inf, margin loss, p_init 0.8 with the
  published p schedule, vertical-stripe initialisation, --square-queries queries, on the first
  --square-n images (a gradient-free check against gradient masking).
Prints a Markdown table and optionally writes all numbers as JSON.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoonets  # noqa: E402

BATCH = 500


def project(z, x, eps):
    return torch.min(torch.max(z, x - eps), x + eps).clamp(0, 1)


@torch.no_grad()
def predict(model, x):
    return torch.cat([model(x[i:i + BATCH]) for i in range(0, len(x), BATCH)])


def loss_grad(model, z, y):
    """Per-sample cross-entropy, its gradient w.r.t. z, and whether z is still classified as y."""
    z = z.clone().requires_grad_(True)
    logits = model(z)
    loss = F.cross_entropy(logits, y, reduction="none")
    (g,) = torch.autograd.grad(loss.sum(), z)
    return loss.detach(), g, logits.detach().argmax(1) == y


# ------------------------------------------------------------------------------------------ PGD

def pgd(model, x, y, eps, steps=40, alpha=0.01, restarts=5, seed=0):
    """Returns a bool tensor: True where no iterate of any restart was misclassified."""
    gen = torch.Generator().manual_seed(seed)
    robust = predict(model, x).argmax(1) == y
    for _ in range(restarts):
        idx = robust.nonzero().flatten()
        if len(idx) == 0:
            break
        xs, ys = x[idx], y[idx]
        z = project(xs + (torch.rand(xs.shape, generator=gen) * 2 - 1) * eps, xs, eps)
        alive = torch.ones(len(idx), dtype=torch.bool)
        for _ in range(steps + 1):
            a = alive.nonzero().flatten()
            if len(a) == 0:
                break
            for s in range(0, len(a), BATCH):
                b = a[s:s + BATCH]
                _, g, ok = loss_grad(model, z[b], ys[b])
                alive[b] = ok
                z[b] = project(z[b] + alpha * g.sign(), xs[b], eps)
        robust[idx[~alive]] = False
    return robust


# ----------------------------------------------------------------------------------------- APGD

def apgd_checkpoints(n_iter):
    p = [0.0, 0.22]
    while True:
        nxt = p[-1] + max(p[-1] - p[-2] - 0.03, 0.06)
        if nxt > 1:
            break
        p.append(nxt)
    return sorted({int(math.ceil(round(q * n_iter, 6))) for q in p})


def apgd_ce(model, x, y, eps, n_iter=100, rho=0.75, momentum=0.75, seed=0):
    """APGD-CE. Returns a bool tensor: True where no evaluated iterate was misclassified."""
    out = torch.ones(len(x), dtype=torch.bool)
    for s in range(0, len(x), BATCH):
        out[s:s + BATCH] = _apgd_batch(model, x[s:s + BATCH], y[s:s + BATCH], eps, n_iter, rho, momentum,
                                       seed + s)
    return out


def _apgd_batch(model, x, y, eps, n_iter, rho, momentum, seed):
    n = len(x)
    shape = (n,) + (1,) * (x.dim() - 1)
    checkpoints = apgd_checkpoints(n_iter)
    gen = torch.Generator().manual_seed(seed)

    def evaluate(z, idx, f, g, ok):
        """Loss/gradient/correctness of z at the rows idx (only rows still not broken)."""
        lf, lg, lok = loss_grad(model, z[idx], y[idx])
        f[idx], g[idx], ok[idx] = lf, lg, lok

    robust = torch.ones(n, dtype=torch.bool)
    everything = torch.arange(n)
    # x^(0): random start in the eps-ball (the authors' implementation).
    t = torch.rand(x.shape, generator=gen) * 2 - 1
    x0 = (x + eps * t / t.abs().flatten(1).max(1)[0].reshape(shape)).clamp(0, 1)
    f0, g0, ok = torch.zeros(n), torch.zeros_like(x), torch.ones(n, dtype=torch.bool)
    evaluate(x0, everything, f0, g0, ok)
    robust &= ok
    eta = torch.full(shape, 2.0 * eps)
    # x^(1) = P(x^(0) + eta sign(grad f(x^(0))))
    x1 = project(x0 + eta * g0.sign(), x, eps)
    f1, g1 = f0.clone(), g0.clone()
    evaluate(x1, everything, f1, g1, ok)
    robust &= ok
    better = f1 > f0
    f_max = torch.where(better, f1, f0)
    x_max = torch.where(better.reshape(shape), x1, x0)
    g_max = torch.where(better.reshape(shape), g1, g0)

    x_prev, x_cur, f_cur, g_cur = x0, x1, f1, g1
    increases = better.float()            # sum over i of [f(x^(i+1)) > f(x^(i))] since the last checkpoint
    last_w = 0
    eta_last = eta.clone()                # eta^(w_{j-1})
    f_max_last = f_max.clone()            # f_max^(w_{j-1})
    for k in range(1, n_iter):
        active = robust.nonzero().flatten()
        if len(active) == 0:
            break
        z = project(x_cur + eta * g_cur.sign(), x, eps)
        x_next = project(x_cur + momentum * (z - x_cur) + (1 - momentum) * (x_cur - x_prev), x, eps)
        f_next, g_next = f_cur.clone(), g_cur.clone()
        evaluate(x_next, active, f_next, g_next, ok)
        robust &= ok
        inc = f_next > f_cur
        up = f_next > f_max
        f_max = torch.where(up, f_next, f_max)
        x_max = torch.where(up.reshape(shape), x_next, x_max)
        g_max = torch.where(up.reshape(shape), g_next, g_max)
        if k in checkpoints:
            # increases covers i = w_{j-1} .. w_j - 1
            cond1 = increases < rho * (k - last_w)
            cond2 = (eta_last.flatten() == eta.flatten()) & (f_max_last == f_max)
            halve = cond1 | cond2
            eta_last = eta.clone()
            f_max_last = f_max.clone()
            eta = torch.where(halve.reshape(shape), eta / 2, eta)
            hs = halve.reshape(shape)
            x_next = torch.where(hs, x_max, x_next)
            f_next = torch.where(halve, f_max, f_next)
            g_next = torch.where(hs, g_max, g_next)
            inc = f_next > f_cur
            increases = torch.zeros(n)
            last_w = k
        increases += inc.float()
        x_prev, x_cur, f_cur, g_cur = x_cur, x_next, f_next, g_next
    return robust


# --------------------------------------------------------------------------------------- Square

def p_selection(p_init, it, n_iters):
    """The published schedule of the fraction of pixels changed (defined for 10000 iterations)."""
    it = int(it / n_iters * 10000)
    for lo, hi, div in ((10, 50, 2), (50, 200, 4), (200, 500, 8), (500, 1000, 16), (1000, 2000, 32),
                        (2000, 4000, 64), (4000, 6000, 128), (6000, 8000, 256), (8000, 10000, 512)):
        if lo < it <= hi:
            return p_init / div
    return p_init


def margin(logits, y):
    """logit of the true class minus the largest other logit (> 0: correctly classified)."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.clone()
    other.scatter_(1, y[:, None], -float("inf"))
    return true - other.max(1)[0]


@torch.no_grad()
def square_linf(model, x, y, eps, n_iters=1000, p_init=0.8, seed=0):
    """Square attack (untargeted, L-inf, margin loss). Returns (robust bool tensor, queries used)."""
    rng = np.random.RandomState(seed)
    xn, yt = x.numpy().astype(np.float32), y
    n, c, h, w = xn.shape
    n_features = c * h * w
    robust = (predict(model, x).argmax(1) == y).numpy()
    idx_all = np.nonzero(robust)[0]
    xs = xn[idx_all]
    ys = yt[torch.from_numpy(idx_all)]
    # vertical stripes: one +-eps value per (channel, column)
    init = rng.choice([-eps, eps], size=[len(xs), c, 1, w]).astype(np.float32)
    x_best = np.clip(xs + init, 0, 1)
    m_min = margin(predict(model, torch.from_numpy(x_best)), ys).numpy()
    queries = np.ones(len(xs))
    for i_iter in range(n_iters - 1):
        todo = np.nonzero(m_min > 0)[0]
        if len(todo) == 0:
            break
        x_curr, x_best_curr = xs[todo], x_best[todo]
        deltas = x_best_curr - x_curr
        p = p_selection(p_init, i_iter, n_iters)
        s = int(round(math.sqrt(p * n_features / c)))
        s = min(max(s, 1), h - 1)
        for i in range(len(todo)):
            ch = rng.randint(0, h - s)
            cw = rng.randint(0, w - s)
            win = x_curr[i, :, ch:ch + s, cw:cw + s]
            best_win = x_best_curr[i, :, ch:ch + s, cw:cw + s]
            # draw a new +-eps per channel until the window actually changes
            while np.sum(np.abs(np.clip(win + deltas[i, :, ch:ch + s, cw:cw + s], 0, 1) - best_win) < 1e-7) == c * s * s:
                deltas[i, :, ch:ch + s, cw:cw + s] = rng.choice([-eps, eps], size=[c, 1, 1])
        x_new = np.clip(x_curr + deltas, 0, 1).astype(np.float32)
        m = margin(predict(model, torch.from_numpy(x_new)), ys[torch.from_numpy(todo)]).numpy()
        improved = m < m_min[todo]
        m_min[todo] = np.where(improved, m, m_min[todo])
        x_best[todo] = np.where(improved[:, None, None, None], x_new, x_best_curr)
        queries[todo] += 1
    robust[idx_all] = m_min > 0
    # sanity: the points kept really are inside the ball and classified as found
    assert np.abs(x_best - xs).max() <= eps + 1e-6
    return torch.from_numpy(robust), queries


# ----------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=["models/zoo/mnist-mlp.onnx", "models/zoo/mnist-cnn.onnx",
                                                  "models/zoo/mnist-cnn-adv.onnx"])
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--eps", default="0.1,0.2,0.3")
    ap.add_argument("--n", type=int, default=1000, help="first N test images for clean/PGD/APGD")
    ap.add_argument("--square-n", type=int, default=200, help="first N test images for Square")
    ap.add_argument("--square-queries", type=int, default=1000)
    ap.add_argument("--attacks", default="pgd,apgd,square")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="", help="write the numbers here as JSON")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xte, yte = zoonets.load_mnist(args.data, "test")
    x, y = torch.from_numpy(xte[:args.n].copy()), torch.from_numpy(yte[:args.n].copy())
    xs, ys = x[:args.square_n], y[:args.square_n]
    eps_list = [float(e) for e in args.eps.split(",")]
    attacks = args.attacks.split(",")

    results = []
    for path in args.models:
        model = zoonets.module_from_onnx(path)
        for p in model.parameters():
            p.requires_grad_(False)
        name = os.path.basename(path).rsplit(".", 1)[0]
        clean = predict(model, x).argmax(1) == y
        clean_sq = clean[:args.square_n]
        for eps in eps_list:
            r = {"model": name, "eps": eps, "n": args.n, "clean": clean.float().mean().item(),
                 "square_n": args.square_n, "clean_square_subset": clean_sq.float().mean().item()}
            worst = clean.clone()
            if "pgd" in attacks:
                t0 = time.time()
                rob = pgd(model, x, y, eps, seed=args.seed)
                r["pgd"], r["pgd_s"] = rob.float().mean().item(), time.time() - t0
                r["pgd_square_subset"] = rob[:args.square_n].float().mean().item()
                worst &= rob
            if "apgd" in attacks:
                t0 = time.time()
                rob = apgd_ce(model, x, y, eps, seed=args.seed)
                r["apgd"], r["apgd_s"] = rob.float().mean().item(), time.time() - t0
                r["apgd_square_subset"] = rob[:args.square_n].float().mean().item()
                worst &= rob
            r["worst_pgd_apgd"] = worst.float().mean().item()
            if "square" in attacks:
                t0 = time.time()
                rob, q = square_linf(model, xs, ys, eps, n_iters=args.square_queries, seed=args.seed)
                r["square"], r["square_s"] = rob.float().mean().item(), time.time() - t0
                r["square_queries"] = args.square_queries
                r["square_mean_queries"] = float(q.mean()) if len(q) else 0.0
                # points that Square breaks although PGD and APGD did not: a sign of gradient masking
                r["square_only"] = int(((~rob) & worst[:args.square_n]).sum())
            results.append(r)
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)

    print()
    print("| model | eps | clean (n=%d) | PGD-40 x5 | APGD-CE 100 | worst of both | clean (n=%d) | "
          "PGD (n=%d) | Square %d q (n=%d) | Square-only breaks |" % (
              args.n, args.square_n, args.square_n, args.square_queries, args.square_n))
    print("|---|---|---|---|---|---|---|---|---|---|")
    pct = lambda r, k: "%.1f%%" % (100 * r[k]) if k in r else "-"
    for r in results:
        print("| %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["model"], r["eps"], pct(r, "clean"), pct(r, "pgd"), pct(r, "apgd"), pct(r, "worst_pgd_apgd"),
            pct(r, "clean_square_subset"), pct(r, "pgd_square_subset"), pct(r, "square"), r.get("square_only", "-")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
