#!/usr/bin/python3
"""Check that full-size torchvision architectures load in advcheck and agree with PyTorch.

Run with `make check-architectures` (it builds bin/archcheck first), or:

    /usr/bin/python3 scripts/check_architectures.py --archcheck bin/archcheck [--models vit_b_16,swin_t]

For each architecture: build it with random weights (fixed seed; linear layers that torchvision
initialises to zero, such as ViT's head, get N(0, 0.01) weights so that the logits and gradients are
not all zero), export it with torch.onnx (opset --opset, dynamic batch) into a temporary directory
that is deleted afterwards (nothing is written into the repository), draw 8 random 224 px images in
[0, 1], and compare:

- loads?           whether advcheck loads the export (else the first line of its refusal);
- max logit diff   max |z_advcheck − z_torch| over the 8×1000 logits, and the same relative to
                   max |z_torch|;
- predictions      how many of the 8 argmax predictions agree;
- FGSM signs       the share of input-gradient entries (of the summed cross-entropy at PyTorch's
                   predictions) whose sign agrees with PyTorch's; the reference gradient is
                   computed in float64, and the column "torch f32 signs" gives PyTorch's own float32
                   gradient against the same reference, the agreement float32 rounding allows;
- time             advcheck's load, and forward + input gradient of the batch of 8, on --threads
                   threads (PyTorch's float32 forward + gradient beside it).

With --advcheck-bin (make check-architectures passes bin/advcheck), it also checks the embedding
task on the full-size ResNet-18 with fc = Identity (random weights, 64 px, 8 images): `advcheck
sweep --task embedding` with FGSM and PGD at eps 4/255 saves its adversarial images, and the cosine
similarities of clean and adversarial embeddings the report gives (per sample, and the mean) must
match PyTorch's float64 cosines of the same images within 1e-4.

Prints Markdown tables; exits 1 when a model that loads disagrees (a prediction differs or fewer
than 99.9 % of the signs agree) or the embedding cosines differ, 0 otherwise (refusals are listed,
not failures).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.models.vision_transformer import VisionTransformer

BATCH = 8
SIZE = 224
SIGN_BAR = 0.999


def deit_small():
    # DeiT-S (Touvron et al. 2021) is ViT-S/16: patch 16, hidden 384, 6 heads, 12 layers, MLP 1536.
    return VisionTransformer(image_size=SIZE, patch_size=16, num_layers=12, num_heads=6, hidden_dim=384, mlp_dim=1536)


def deit_b_timm():
    # DeiT-B/16 with ViT-B/16's sizes, its attention written as timm writes it (qkv reshaped and
    # permuted, q, k, v taken with Gather) instead of nn.MultiheadAttention: testdata/gen_models_vit.py.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata"))
    from gen_models_vit import DeiT

    return DeiT(image=SIZE, patch=16, dim=768, depth=12, heads=12, mlp=3072, classes=1000)


def deit_s_timm():
    # DeiT-S/16 (ViT-S/16's sizes) with timm's attention, as deit_b_timm.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata"))
    from gen_models_vit import DeiT

    return DeiT(image=SIZE, patch=16, dim=384, depth=12, heads=6, mlp=1536, classes=1000)


ARCHS = {
    "vit_b_16": lambda: tvm.vit_b_16(),
    "deit_s_16": deit_small,
    "deit_s_16_timm": deit_s_timm,
    "deit_b_16_timm": deit_b_timm,
    "swin_t": lambda: tvm.swin_t(),
    "convnext_tiny": lambda: tvm.convnext_tiny(),
    "mobilenet_v3_small": lambda: tvm.mobilenet_v3_small(),
    "mobilenet_v3_large": lambda: tvm.mobilenet_v3_large(),
    "efficientnet_b0": lambda: tvm.efficientnet_b0(),
    "resnet18": lambda: tvm.resnet18(),
    "resnet50": lambda: tvm.resnet50(),
    "densenet121": lambda: tvm.densenet121(),
    "regnet_y_400mf": lambda: tvm.regnet_y_400mf(),
    "mnasnet1_0": lambda: tvm.mnasnet1_0(),
    "shufflenet_v2_x1_0": lambda: tvm.shufflenet_v2_x1_0(),
    "squeezenet1_1": lambda: tvm.squeezenet1_1(),
}


def build(name, seed):
    torch.manual_seed(seed)
    m = ARCHS[name]().eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Linear) and not mod.weight.any():
                mod.weight.normal_(0, 0.01)
    return m


def torch_grad(m, x, y):
    x = x.clone().requires_grad_(True)
    z = m(x)
    nn.functional.cross_entropy(z, y, reduction="sum").backward()
    return z.detach(), x.grad.detach()


def check(name, args, tmp):
    row = {"model": name}
    m = build(name, args.seed)
    g = torch.Generator().manual_seed(args.seed)
    x = torch.rand(BATCH, 3, SIZE, SIZE, generator=g)
    path = os.path.join(tmp, name + ".onnx")
    torch.onnx.export(m, x[:1], path, opset_version=args.opset, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    row["onnx_mb"] = os.path.getsize(path) / 2**20
    torch.set_num_threads(args.threads)
    with torch.no_grad():
        z32 = m(x)
    y = z32.argmax(1)
    t0 = time.perf_counter()
    _, g32 = torch_grad(m, x, y)
    row["torch_s"] = time.perf_counter() - t0
    m64 = build(name, args.seed).double()
    z64, g64 = torch_grad(m64, x.double(), y)
    z64, g64 = z64.numpy(), g64.numpy()
    row["torch_f32_signs"] = float(np.mean(np.sign(g32.numpy()) == np.sign(g64)))
    np.save(os.path.join(tmp, "x.npy"), x.numpy())
    np.save(os.path.join(tmp, "y.npy"), y.numpy().astype(np.int64))
    cmd = [args.archcheck, "-model", path, "-x", os.path.join(tmp, "x.npy"), "-y", os.path.join(tmp, "y.npy"),
           "-out", tmp, "-threads", str(args.threads)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    os.remove(path)
    if p.returncode != 0:
        row["loads"] = False
        row["refusal"] = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[0]
        return row
    row["loads"] = True
    row.update(json.loads(p.stdout))
    z = np.load(os.path.join(tmp, "logits.npy")).astype(np.float64)
    gr = np.load(os.path.join(tmp, "grad.npy")).astype(np.float64)
    row["max_logit_diff"] = float(np.abs(z - z64).max())
    row["max_logit_rel"] = row["max_logit_diff"] / float(np.abs(z64).max())
    row["pred_agree"] = int((z.argmax(1) == z64.argmax(1)).sum())
    row["signs"] = float(np.mean(np.sign(gr) == np.sign(g64)))
    row["ok"] = row["pred_agree"] == BATCH and row["signs"] >= SIGN_BAR
    return row


EMBED_ATTACKS = ["fgsm", "pgd:steps=5"]
EMBED_EPS = "0,4/255"
EMBED_BAR = 1e-4


def check_embedding(args, tmp):
    """ResNet-18 with fc = Identity under sweep --task embedding: report cosines against PyTorch's."""
    torch.manual_seed(args.seed)
    m = tvm.resnet18()
    m.fc = nn.Identity()
    m.eval()
    g = torch.Generator().manual_seed(args.seed)
    x = torch.rand(BATCH, 3, 64, 64, generator=g)
    path = os.path.join(tmp, "resnet18_embedding.onnx")
    torch.onnx.export(m, x[:1], path, opset_version=args.opset, input_names=["input"], output_names=["embedding"],
                      dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}})
    xp, yp = os.path.join(tmp, "ex.npy"), os.path.join(tmp, "ey.npy")
    np.save(xp, x.numpy())
    np.save(yp, np.zeros(BATCH, dtype=np.int64))
    adv_dir, rep, samples = os.path.join(tmp, "adv"), os.path.join(tmp, "embedding.json"), os.path.join(tmp, "embedding.jsonl")
    cmd = [args.advcheck_bin, "sweep", "--model", path, "--data", f"npy:{xp},{yp}", "--task", "embedding",
           "--attack", ",".join(EMBED_ATTACKS), "--eps", EMBED_EPS, "--batch", str(BATCH), "--threads", str(args.threads),
           "-q", "--save-adv", adv_dir, "--json", rep, "--samples", samples]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        return [{"attack": a, "ok": False, "error": (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[0]} for a in EMBED_ATTACKS]
    with open(rep) as f:
        report = json.load(f)
    per_sample = {}
    with open(samples) as f:
        for line in f:
            d = json.loads(line)
            for r in d["results"]:
                if r["eps"] > 0:
                    per_sample.setdefault(r["attack_id"], {})[d["index"]] = r["cos_logits"]
    m64 = m.double()
    with torch.no_grad():
        clean = m64(x.double())
    index = np.load(os.path.join(adv_dir, "index.npy"))
    rows = []
    for res in report["results"]:
        if res["eps"] == 0:
            continue
        a = res["attack_id"]
        name = a.replace(":", "_") + "__linf_eps" + repr(res["eps"]) + ".npy"
        adv = np.load(os.path.join(adv_dir, name))
        with torch.no_grad():
            emb = m64(torch.from_numpy(adv).double())
        cos = nn.functional.cosine_similarity(clean[index], emb, dim=1, eps=0).numpy()
        ours = np.array([per_sample[a][int(i)] for i in index])
        diff = float(np.abs(ours - cos).max())
        mean_diff = abs(res["cosine"]["outputs"]["mean"] - float(cos.mean()))
        rows.append({"attack": a, "eps": res["eps_requested"], "advcheck_mean": res["cosine"]["outputs"]["mean"],
                     "torch_mean": float(cos.mean()), "max_diff": diff, "mean_diff": mean_diff, "time_s": elapsed,
                     "ok": diff <= EMBED_BAR and mean_diff <= EMBED_BAR})
    return rows


def embedding_table(rows, opset):
    out = [f"| ResNet-18, fc = Identity, 64 px (opset {opset}), --task embedding | eps | cosine mean: advcheck / PyTorch "
           f"| max per-sample difference | within 1e-4? |", "| --- | --- | ---: | ---: | --- |"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['attack']} | | refused: {r['error']} | | no |")
            continue
        out.append(f"| {r['attack']} | {r['eps']} | {r['advcheck_mean']:.6f} / {r['torch_mean']:.6f} | {r['max_diff']:.1e} "
                   f"| {'yes' if r['ok'] else 'NO'} |")
    return "\n".join(out)


def table(rows, opset, threads):
    out = [f"| model (opset {opset}) | loads? | max logit diff (rel.) | predictions | FGSM signs | torch f32 signs "
           f"| advcheck load / fwd+grad | torch fwd+grad |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if not r.get("loads"):
            refusal = r.get("refusal", "").replace("|", "\\|")
            out.append(f"| {r['model']} | no: {refusal} | | | | {r.get('torch_f32_signs', 0):.4%} | | {r.get('torch_s', 0):.2f} s |")
            continue
        out.append(f"| {r['model']} | yes | {r['max_logit_diff']:.2e} ({r['max_logit_rel']:.1e}) | {r['pred_agree']}/{BATCH} "
                   f"| {r['signs']:.4%} | {r['torch_f32_signs']:.4%} | {r['load_s']:.1f} s / {r['forward_grad_s']:.2f} s "
                   f"| {r['torch_s']:.2f} s |")
    out.append("")
    out.append(f"batch {BATCH}, {SIZE} px, {threads} threads; random weights (seed fixed); reference: PyTorch float64.")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archcheck", default="bin/archcheck", help="the archcheck binary (go build ./scripts/archcheck)")
    ap.add_argument("--models", default=",".join(ARCHS), help="comma-separated subset of: " + ", ".join(ARCHS))
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the rows as JSON to this file")
    ap.add_argument("--advcheck-bin", help="the advcheck binary; with it, also check --task embedding on ResNet-18")
    args = ap.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    for n in names:
        if n not in ARCHS:
            sys.exit(f"check_architectures: unknown model {n!r}; known: {', '.join(ARCHS)}")
    rows, embed = [], []
    with tempfile.TemporaryDirectory(prefix="advcheck-arch-") as tmp:
        if args.advcheck_bin:
            print("== resnet18 embedding", file=sys.stderr, flush=True)
            embed = check_embedding(args, tmp)
            print(json.dumps(embed), file=sys.stderr, flush=True)
            print(embedding_table(embed, args.opset) + "\n", flush=True)
        for n in names:
            print(f"== {n}", file=sys.stderr, flush=True)
            try:
                rows.append(check(n, args, tmp))
            except Exception as e:  # an export PyTorch cannot make is a row, not the end of the run
                rows.append({"model": n, "loads": False, "refusal": f"PyTorch export failed: {type(e).__name__}: {e}".splitlines()[0]})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(table(rows, args.opset, args.threads))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"architectures": rows, "embedding": embed}, f, indent=1)
    sys.exit(0 if all(r.get("ok", True) for r in rows + embed) else 1)


if __name__ == "__main__":
    main()
