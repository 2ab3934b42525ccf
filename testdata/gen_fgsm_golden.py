#!/usr/bin/python3
"""FGSM goldens from an independent PyTorch implementation, for attacks/fgsm_golden_test.go.

Regenerate (from the repository root, with MNIST in data/mnist):

    /usr/bin/python3 testdata/gen_fgsm_golden.py

The zoo CNN's weights are read from models/zoo/mnist-cnn.onnx into the PyTorch module. On the
first 200 MNIST test images, for eps in {0.05, 0.1, 0.2}, FGSM is computed the textbook way
(Goodfellow et al. 2015, as ART and torchattacks do it): x_adv = clip(x + eps * sign(grad_x CE(f(x), y)), 0, 1),
in float64 (the module and the images converted with .double()): a float32 cross-entropy backward
rounds softmax(z)_y to 1 on confidently classified samples, which flips the sign of many tiny
gradient entries; the float64 gradient is the exact reference.
Written to testdata/golden/fgsm_cnn.npz:

    x        uint8  (200, 1, 28, 28)   the MNIST images (pixels; x = x / 255)
    y        int64  (200,)             labels
    sign     int8   (200, 1, 28, 28)   sign of the input gradient (float64 autograd)
    small    uint8  (200, 1, 28, 28)   1 where |grad| < 1e-4 * max |grad| of the sample: near
                                       zero, where a float32 engine's sign may differ
    tie      uint8  (200, 1, 28, 28)   1 where the sign depends on how MaxPool ties are broken
    pred_EPS int64  (200,)             predictions on x_adv, one array per eps (pred_0.05, ...)

MaxPool ties: on MNIST's constant background many 2x2 MaxPool windows hold exactly equal values
after conv -> ReLU -> conv -> ReLU. PyTorch sends their gradient to the first maximal element
(row-major); any tied element is an equally valid subgradient, and a float32 engine whose BLAS
rounds the tied values a few ulps apart picks another one. `tie` marks the input entries whose
gradient sign some choice of tied elements, window by window, could change (the exact range of
the gradient over all choices, see gradient_range; checked against the conventions of
testdata/zoo/maxpool_ties.py: each window position first, last first, random per-window
priorities); there the sign is a convention, not a reference. `sign` and `pred_EPS` follow
PyTorch's first-maximum convention. attacks/fgsm_golden_test.go skips `small` and `tie` entries
in the perturbation check and puts PyTorch's sign back on the `tie` entries of its x_adv before
comparing predictions.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo"))
import maxpool_ties  # noqa: E402
import zoonets  # noqa: E402

N = 200
EPS = [0.05, 0.1, 0.2]


def gradient_range(model, x, y):
    """Per input entry, the lowest and highest change of the input gradient that any choice of
    tied elements in the MaxPool windows can make, relative to PyTorch's first-maximum choice.

    Past the MaxPool the backward pass is linear in the pool's output gradient u, and the ReLU
    masks D come from the forward pass, which the choice does not change. So routing window w's
    gradient to tied element q instead of the first one changes the input gradient by
    delta(w, q) = u_w * J^T (e_q - e_first), J^T = conv1^T D1 conv2^T D2, independently of the
    other windows, and over all per-window choices the change at entry i lies in
    [sum_w min_q delta(w, q)_i, sum_w max_q delta(w, q)_i] (q over w's tied elements; the
    first gives 0), bounds that are attained. J^T e for one pooled element is a 5x5 patch of
    the input, computed here for every tied element at once."""
    with torch.no_grad():
        a1 = model.conv1(x)
        a2 = model.conv2(F.relu(a1))
    h2 = F.relu(a2).requires_grad_(True)
    p = F.max_pool2d(h2, 2)
    z = model.fc2(F.relu(model.fc1(p.flatten(1))))
    (u,) = torch.autograd.grad(F.cross_entropy(z, y, reduction="sum"), [p])
    n, c, h, w = h2.shape
    oh, ow = h // 2, w // 2
    win = F.unfold(h2.detach().reshape(n * c, 1, h, w), 2, stride=2).reshape(n, c, 4, oh, ow)
    tied = win == win.max(dim=2, keepdim=True).values
    # Only windows with several maxima and a live ReLU there can route differently.
    live = tied.sum(dim=2) > 1
    live &= win.max(dim=2).values > 0
    live &= u != 0
    nn_, cc, oi, oj = live.nonzero(as_tuple=True)
    tw = tied[nn_, cc, :, oi, oj]  # (W, 4)
    first = tw.double().argmax(dim=1)  # PyTorch's choice: the first maximal element
    d1 = F.unfold((a1 > 0).double(), 3)  # (n, 32*9, 24*24): conv2's input patch masks
    w1, w2 = model.conv1.weight, model.conv2.weight
    patches = []
    for q in range(4):
        dy, dx = q // 2, q % 2
        i, j = 2 * oi + dy, 2 * oj + dx
        g1 = w2[cc] * d1[nn_, :, i * w + j].reshape(-1, *w2.shape[1:])
        g1 = g1 * (a2[nn_, cc, i, j] > 0).double().reshape(-1, 1, 1, 1)
        pq = torch.zeros(len(nn_), 6, 6, dtype=x.dtype)
        pq[:, dy:dy + 5, dx:dx + 5] = F.conv_transpose2d(g1, w1)[:, 0]
        patches.append(pq)
    patches = torch.stack(patches, dim=1)  # (W, 4, 6, 6): J^T e_q around the window
    pf = patches[torch.arange(len(nn_)), first].unsqueeze(1)
    delta = u[nn_, cc, oi, oj].reshape(-1, 1, 1, 1) * (patches - pf)
    delta = torch.where(tw.reshape(-1, 4, 1, 1), delta, torch.zeros_like(delta))
    lo_w, hi_w = delta.min(dim=1).values, delta.max(dim=1).values  # first included: <= 0 <= hi
    lo = torch.zeros(n, x.shape[2], x.shape[3], dtype=x.dtype)
    hi = torch.zeros_like(lo)
    for r in range(6):
        for s in range(6):
            at = (nn_, 2 * oi + r, 2 * oj + s)
            lo.index_put_(at, lo_w[:, r, s], accumulate=True)
            hi.index_put_(at, hi_w[:, r, s], accumulate=True)
    return lo.unsqueeze(1), hi.unsqueeze(1)


def main():
    torch.manual_seed(0)
    model = zoonets.module_from_onnx("models/zoo/mnist-cnn.onnx").double()
    for p in model.parameters():
        p.requires_grad_(False)
    x_all, y_all = zoonets.load_mnist("data/mnist", "test")
    x = torch.from_numpy(x_all[:N].copy()).double()
    y = torch.from_numpy(y_all[:N].copy())
    x.requires_grad_(True)

    def grad():
        loss = F.cross_entropy(model(x), y, reduction="sum")
        return torch.autograd.grad(loss, [x])[0]

    g = grad()
    out = {
        "x": np.round(x.detach().numpy() * 255).astype(np.uint8),
        "y": y.numpy().astype(np.int64),
        "sign": torch.sign(g).numpy().astype(np.int8),
    }
    gmax = g.abs().reshape(N, -1).max(dim=1).values.reshape(N, 1, 1, 1)
    out["small"] = (g.abs() < 1e-4 * gmax).numpy().astype(np.uint8)
    lo, hi = gradient_range(model, x, y)
    # Tie-dependent: affected by some tied window, and the range (widened by float64 rounding)
    # does not stay on one side of zero.
    slack = 1e-12 * gmax
    affected = (lo < 0) | (hi > 0)
    tie = affected & ~((g + lo > slack) | (g + hi < -slack))
    # Every global convention's gradient must lie in the range, so its signs in the mask.
    for prio in maxpool_ties.conventions()(4):
        with maxpool_ties.routed(prio):
            gc = grad()
        if ((gc < g + lo - slack) | (gc > g + hi + slack)).any():
            raise SystemExit("a tie convention's gradient lies outside the computed range")
        if ((torch.sign(gc) != torch.sign(g)) & ~tie).any():
            raise SystemExit("a sign that changes with the tie convention lies outside the mask")
    out["tie"] = tie.numpy().astype(np.uint8)
    print("tie-dependent signs: %d of %d entries (%d also small)" % (
        out["tie"].sum(), out["tie"].size, (out["tie"] & out["small"]).sum()))
    with torch.no_grad():
        for eps in EPS:
            adv = torch.clamp(x + eps * torch.sign(g), 0, 1)
            out["pred_%g" % eps] = model(adv).argmax(dim=1).numpy().astype(np.int64)
            acc = (out["pred_%g" % eps] == out["y"]).mean()
            print("eps %g: accuracy %.3f" % (eps, acc))
    np.savez_compressed("testdata/golden/fgsm_cnn.npz", **out)
    print("wrote testdata/golden/fgsm_cnn.npz (%d bytes)" % os.path.getsize("testdata/golden/fgsm_cnn.npz"))


if __name__ == "__main__":
    main()
