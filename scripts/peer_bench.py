#!/usr/bin/python3
"""PyTorch speed peer for advcheck's benchmarks: the same work on the same weights.

Usage (from the repository root):

    /usr/bin/python3 scripts/peer_bench.py --model models/zoo/mnist-cnn.onnx --mode forward
    /usr/bin/python3 scripts/peer_bench.py --model models/zoo/mnist-cnn.onnx --mode grad
    /usr/bin/python3 scripts/peer_bench.py --model models/zoo/mnist-cnn.onnx --mode fgsm-sweep \\
        --data data/mnist --eps 0,0.05,0.1,0.15,0.2,0.25,0.3

The model must be a zoo architecture (MLP or CNN, see testdata/zoo/zoonets.py): the PyTorch module
is rebuilt and its weights are loaded from the ONNX file's initializers, so both engines run
exactly the same network. A model made by scripts/peer_models.py (data/peer/NAME.onnx beside
NAME.pt) is rebuilt from torchvision and its state_dict instead; its input shape comes from
the architecture (3x224x224, or 3x32x32 for cifar_resnet18).

Modes:
  forward     images per second of forward passes (torch.no_grad), batches of --batch;
  grad        images per second of forward + gradient of the cross-entropy w.r.t. the input
              (x.requires_grad, parameters frozen, loss.backward());
  fgsm-sweep  FGSM over the full 10k MNIST test set for every eps in --eps, done the way ART and
              torchattacks do it: for each eps, for each batch, one gradient computation,
              x_adv = clip(x + eps*sign(g), 0, 1), then a prediction. Reports total seconds and the
              accuracy per eps.
Timed after a warm-up. Prints one JSON line on stdout, e.g.
  {"mode": "forward", "img_per_s": ..., "seconds": ..., "threads": 2, "torch": "1.13.1", ...}
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "zoo"))
import zoonets  # noqa: E402

import peer_models  # noqa: E402  (scripts/, this file's folder)


def timed_loop(step, batch, seconds, warmup=0.5):
    """Run step() repeatedly: warm up for `warmup` seconds (at least 3 calls), then time for `seconds`."""
    t0 = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - t0 < warmup:
        step()
        n += 1
    iters = 0
    t0 = time.perf_counter()
    while True:
        step()
        iters += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return iters * batch, el


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="zoo model .onnx")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--mode", default="forward", choices=["forward", "grad", "fgsm-sweep"])
    ap.add_argument("--data", default="data/mnist", help="MNIST IDX directory (fgsm-sweep)")
    ap.add_argument("--eps", default="0,0.05,0.1,0.15,0.2,0.25,0.3", help="fgsm-sweep: comma-separated eps")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    name = os.path.splitext(os.path.basename(args.model))[0]
    state = os.path.splitext(args.model)[0] + ".pt"
    if name in peer_models.ALL and os.path.exists(state):
        model, shape = peer_models.build(name)
        model.load_state_dict(torch.load(state))
    else:
        model, shape = zoonets.module_from_onnx(args.model), (1, 28, 28)
    for p in model.parameters():
        p.requires_grad_(False)
    res = {"mode": args.mode, "model": os.path.basename(args.model), "batch": args.batch,
           "threads": torch.get_num_threads(), "torch": torch.__version__}

    if args.mode in ("forward", "grad"):
        x = torch.rand(args.batch, *shape)
        with torch.no_grad():
            classes = model(x[:1]).shape[1]
        y = torch.arange(args.batch) % classes
        if args.mode == "forward":
            def step():
                with torch.no_grad():
                    model(x)
        else:
            def step():
                xg = x.clone().requires_grad_(True)
                loss = F.cross_entropy(model(xg), y)
                loss.backward()
                return xg.grad
        images, seconds = timed_loop(step, args.batch, args.seconds)
        res.update(img_per_s=images / seconds, seconds=seconds, images=images)
    else:
        xte, yte = zoonets.load_mnist(args.data, "test")
        x_all, y_all = torch.from_numpy(xte), torch.from_numpy(yte)
        eps_list = [float(e) for e in args.eps.split(",")]

        def fgsm_batch(x, y, eps):
            xg = x.clone().requires_grad_(True)
            loss = F.cross_entropy(model(xg), y)
            loss.backward()
            with torch.no_grad():
                x_adv = (x + eps * xg.grad.sign()).clamp(0, 1)
                return (model(x_adv).argmax(1) == y).sum().item()

        # warm-up on a few batches
        for i in range(3):
            fgsm_batch(x_all[i * args.batch:(i + 1) * args.batch], y_all[i * args.batch:(i + 1) * args.batch], 0.1)
        acc = {}
        t0 = time.perf_counter()
        for eps in eps_list:
            correct = 0
            for i in range(0, len(x_all), args.batch):
                correct += fgsm_batch(x_all[i:i + args.batch], y_all[i:i + args.batch], eps)
            acc["%g" % eps] = correct / len(x_all)
        seconds = time.perf_counter() - t0
        images = len(x_all) * len(eps_list)
        res.update(img_per_s=images / seconds, seconds=seconds, images=images, accuracy=acc)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
