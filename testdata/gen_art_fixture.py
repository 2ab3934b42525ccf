#!/usr/bin/python3
"""Build testdata/models/art_mnist.onnx, the ONNX twin of IBM ART's MNIST test-suite model, and
check that it reproduces the FGSM/FGM numbers ART's own tests assert.

Regenerate (from the repository root, MNIST in data/mnist: ./scripts/fetch-mnist.sh data/mnist):

    /usr/bin/python3 testdata/gen_art_fixture.py

The weights are the float64 .npy files of the fixture (TensorFlow layout; --fixtures, default
shared/fixtures/art-mnist inside or beside the repository, see the README.md there):
    Conv2d(1, 1, 7): weight = W_CONV2D_MNIST.transpose(3, 2, 0, 1), bias = B_CONV2D_MNIST
    -> ReLU -> MaxPool2d(4, stride 4) -> flatten -> Linear(25, 10): weight = W_DENSE_MNIST.T,
    bias = B_DENSE_MNIST -> Softmax(dim=1)
exported in float32, opset 13, dynamic batch, input "input", output "probabilities".

Check: on the first 11 MNIST test images, with labels = the model's clean predictions,
loss = cross-entropy of the probabilities (= CE on the pre-softmax tensor) and eps = 1.0,
FGSM L-inf (x + eps*sign(g), clipped to [0, 1]) and FGM L2 (x + eps*g/||g||_2 per sample,
clipped) must give ART's labels and mean perturbations. Exits non-zero if not.

Also writes testdata/golden/art_mnist/: x.npy (the 11 images, float32 N x 1 x 28 x 28),
y.npy (clean predicted labels, int64), out.npy (probabilities), logits.npy (pre-softmax),
grad_ce.npy (d/dx sum CE(logits, y)), all float64 from the float64 module, plus
x_adv_fgsm_linf.npy and x_adv_fgm_l2.npy (float32, the two eps = 1.0 adversarial batches), and
tie.npy (uint8, layout of x): 1 where grad_ce.npy changes with the MaxPool tie convention
(PyTorch sends a tied window's gradient to its first maximal element; any tied element is a
valid subgradient, see testdata/zoo/maxpool_ties.py), entries the engine tests skip for float32.
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "zoo"))
import maxpool_ties  # noqa: E402
import zoonets  # noqa: E402

# What ART's tests/attacks/evasion/test_fast_gradient.py asserts for this model.
ART = {
    "clean": [7, 1, 1, 4, 4, 1, 4, 4, 4, 4, 4],
    "linf": [4, 4, 4, 7, 7, 4, 7, 2, 2, 3, 0],
    "l2": [7, 2, 4, 4, 4, 7, 7, 4, 0, 4, 4],
    "linf_mean": 0.2346725, "linf_min": -1.0, "linf_max": 1.0,
    "l2_mean": 0.007636416, "l2_min": -0.211054801, "l2_max": 0.209592223,
}


class ArtMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 7)
        self.fc = nn.Linear(25, 10)

    def logits(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 4, stride=4)
        return self.fc(x.flatten(1))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=1)


def build(fixtures):
    w_conv = np.load(os.path.join(fixtures, "W_CONV2D_MNIST.npy"))
    b_conv = np.load(os.path.join(fixtures, "B_CONV2D_MNIST.npy"))
    w_dense = np.load(os.path.join(fixtures, "W_DENSE_MNIST.npy"))
    b_dense = np.load(os.path.join(fixtures, "B_DENSE_MNIST.npy"))
    assert w_conv.shape == (7, 7, 1, 1) and b_conv.shape == (1,), (w_conv.shape, b_conv.shape)
    assert w_dense.shape == (25, 10) and b_dense.shape == (10,), (w_dense.shape, b_dense.shape)
    m = ArtMnist()
    with torch.no_grad():
        m.conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w_conv.transpose(3, 2, 0, 1))))
        m.conv.bias.copy_(torch.from_numpy(b_conv.copy()))
        m.fc.weight.copy_(torch.from_numpy(np.ascontiguousarray(w_dense.T)))
        m.fc.bias.copy_(torch.from_numpy(b_dense.copy()))
    return m.eval()


def ce_grad(model, x, y):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model.logits(x), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    return g


def fgsm(model, x, y, eps, norm):
    g = ce_grad(model, x, y)
    if norm == "linf":
        step = g.sign()
    else:
        n = g.flatten(1).norm(dim=1).clamp_min(1e-12).reshape(-1, 1, 1, 1)
        step = g / n
    return (x + eps * step).clamp(0, 1)


def default_fixtures():
    root = os.path.dirname(HERE)
    for d in (os.path.join(root, "shared"), os.path.join(os.path.dirname(root), "shared")):
        cand = os.path.join(d, "fixtures", "art-mnist")
        if os.path.isdir(cand):
            return cand
    return os.path.join(root, "shared", "fixtures", "art-mnist")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--fixtures", default=default_fixtures())
    ap.add_argument("--models", default=os.path.join(HERE, "models"))
    ap.add_argument("--golden", default=os.path.join(HERE, "golden"))
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    xte, _ = zoonets.load_mnist(args.data, "test")
    x32 = torch.from_numpy(xte[:11].copy())
    m32 = build(args.fixtures).float()

    # Export the float32 module.
    os.makedirs(args.models, exist_ok=True)
    path = os.path.join(args.models, "art_mnist.onnx")
    torch.onnx.export(m32, x32[:2], path, opset_version=13, input_names=["input"],
                      output_names=["probabilities"],
                      dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
                      do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(path))
    # The ONNX initializers must give back the fixture's weights exactly (float32).
    back = zoonets.load_onnx_weights(ArtMnist(), path)
    for a, b in zip(back.parameters(), m32.parameters()):
        assert torch.equal(a, b), "art_mnist.onnx does not hold the fixture weights"

    ok = True
    rows = []
    results = {}
    for dtype in (torch.float32, torch.float64):
        m = build(args.fixtures).to(dtype)
        for p in m.parameters():
            p.requires_grad_(False)
        x = x32.to(dtype)
        with torch.no_grad():
            clean = m(x).argmax(1)
        xl = fgsm(m, x, clean, 1.0, "linf")
        x2 = fgsm(m, x, clean, 1.0, "l2")
        with torch.no_grad():
            pl, p2 = m(xl).argmax(1), m(x2).argmax(1)
        dl, d2 = (xl - x).double(), (x2 - x).double()
        name = "float32" if dtype == torch.float32 else "float64"
        results[name] = (clean, xl, x2)
        got = {"clean": clean.tolist(), "linf": pl.tolist(), "l2": p2.tolist(),
               "linf_mean": dl.mean().item(), "linf_min": dl.min().item(), "linf_max": dl.max().item(),
               "l2_mean": d2.mean().item(), "l2_min": d2.min().item(), "l2_max": d2.max().item()}
        for key, want in ART.items():
            have = got[key]
            if isinstance(want, list):
                match = have == want
            else:
                match = abs(have - want) <= 1e-6 + 1e-5 * abs(want)
            ok &= match
            rows.append((name, key, str(want), str(have) if isinstance(have, list) else "%.9g" % have,
                         "ok" if match else "MISMATCH"))

    w = [max(len(r[i]) for r in rows + [("dtype", "quantity", "ART", "here", "")]) for i in range(5)]
    fmt = "  ".join("%%-%ds" % n for n in w)
    print(fmt % ("dtype", "quantity", "ART", "here", ""))
    for r in rows:
        print(fmt % r)

    # Goldens, from the float64 module (labels: the clean predictions).
    m64 = build(args.fixtures).double()
    for p in m64.parameters():
        p.requires_grad_(False)
    y = results["float32"][0].long()
    xd = x32.double().requires_grad_(True)
    z = m64.logits(xd)
    out = torch.softmax(z, dim=1)
    loss = -(torch.log_softmax(z, dim=1).gather(1, y[:, None])).sum()
    (g,) = torch.autograd.grad(loss, xd)

    def grad():
        lz = torch.log_softmax(m64.logits(xd), dim=1)
        return torch.autograd.grad(-(lz.gather(1, y[:, None])).sum(), xd)[0]

    tie = maxpool_ties.tie_dependent(grad, 16).numpy().astype(np.uint8)
    print("art_mnist tie-dependent gradient entries: %d of %d" % (tie.sum(), tie.size))
    d = os.path.join(args.golden, "art_mnist")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "x.npy"), x32.numpy().astype(np.float32))
    np.save(os.path.join(d, "y.npy"), y.numpy().astype(np.int64))
    np.save(os.path.join(d, "out.npy"), out.detach().numpy().astype(np.float64))
    np.save(os.path.join(d, "logits.npy"), z.detach().numpy().astype(np.float64))
    np.save(os.path.join(d, "grad_ce.npy"), g.numpy().astype(np.float64))
    np.save(os.path.join(d, "tie.npy"), tie)
    np.save(os.path.join(d, "x_adv_fgsm_linf.npy"), results["float32"][1].numpy().astype(np.float32))
    np.save(os.path.join(d, "x_adv_fgm_l2.npy"), results["float32"][2].numpy().astype(np.float32))
    print("wrote %s (%d bytes) and %s/" % (path, os.path.getsize(path), d))
    if not ok:
        sys.exit("art_mnist: the model does not reproduce ART's numbers")
    print("art_mnist: ART's FGSM/FGM numbers reproduced")


if __name__ == "__main__":
    main()
