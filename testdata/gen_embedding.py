#!/usr/bin/python3
"""Generate the embedding-task goldens: a feature extractor, advcheck's adversarial images and
PyTorch's cosine similarities on them.

Regenerate (from the repository root, after `make build`):

    /usr/bin/python3 testdata/gen_embedding.py [--advcheck bin/advcheck]

The model is a small residual feature extractor built from torchvision's own BasicBlock (the block
of ResNet-18): a 3→16 stem convolution with BatchNorm and ReLU, BasicBlock(16, 16),
BasicBlock(16, 32, stride 2) with a 1×1 downsampling branch, global average pooling and no
classifier (fc = Identity), so its output is a 32-dimensional embedding. Random weights (fixed
seed), BatchNorm statistics from a forward pass in training mode, exported in eval mode (opset 13,
dynamic batch). The full-size ResNet-18 with fc = Identity is checked the same way by
`make check-architectures` (scripts/check_architectures.py --embedding); its 44 MB export is not
committed.

Writes:
    testdata/models/embed_resnet.onnx
    testdata/golden/embedding/x.npy          float32 (8, 3, 32, 32) in [0, 1]
    testdata/golden/embedding/y.npy          int64 (8,), zeros (an embedding task uses no labels)
    testdata/golden/embedding/ATTACK.npy     float32 (8, 3, 32, 32), advcheck's adversarial images
                                             for each run in RUNS (sweep --task embedding, eps 8/255)
    testdata/golden/embedding/ATTACK_cos.npy float64 (8,), PyTorch's (float64) cosine similarity of
                                             the embeddings of x and of ATTACK.npy

The Go test (cmd/advcheck, TestEmbeddingAgainstPyTorch) reruns the same sweeps and compares the
report's cosines with these within 1e-4.
"""

import argparse
import os
import subprocess
import tempfile

import numpy as np
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "golden", "embedding")
MODEL = os.path.join(HERE, "models", "embed_resnet.onnx")
# attack spec, file stem: the sweeps the Go test reruns.
RUNS = [("fgsm", "fgsm"), ("pgd:steps=5", "pgd"), ("apgd-ce:iters=5", "apgd"), ("square:queries=20", "square")]
EPS = "0,8/255"


class TinyResNetEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        down = nn.Sequential(nn.Conv2d(16, 32, 1, stride=2, bias=False), nn.BatchNorm2d(32))
        self.layer = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 32, stride=2, downsample=down))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Identity()

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layer(self.stem(x))), 1))


def sweep_args(advcheck, model, x, y, attack, extra):
    return [advcheck, "sweep", "--model", model, "--data", f"npy:{x},{y}", "--task", "embedding",
            "--attack", attack, "--eps", EPS, "--batch", "8", "-q"] + extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advcheck", default=os.path.join(ROOT, "bin", "advcheck"))
    args = ap.parse_args()
    torch.manual_seed(21)
    m = TinyResNetEmbedding()
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        m.train()
        m(torch.rand(64, 3, 32, 32, generator=g))  # BatchNorm statistics
    m.eval()
    x = torch.rand(8, 3, 32, 32, generator=g)
    torch.onnx.export(m, x[:1], MODEL, opset_version=13, input_names=["input"], output_names=["embedding"],
                      dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}})
    os.makedirs(OUT, exist_ok=True)
    xp, yp = os.path.join(OUT, "x.npy"), os.path.join(OUT, "y.npy")
    np.save(xp, x.numpy())
    np.save(yp, np.zeros(8, dtype=np.int64))
    m64 = m.double()
    with torch.no_grad():
        clean = m64(x.double())
    for attack, stem in RUNS:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(sweep_args(args.advcheck, MODEL, xp, yp, attack, ["--save-adv", tmp]), check=True)
            files = [f for f in os.listdir(tmp) if f.endswith(".npy") and f != "index.npy" and not f.endswith("_eps0.npy")]
            assert len(files) == 1, files
            adv = np.load(os.path.join(tmp, files[0]))
        np.save(os.path.join(OUT, stem + ".npy"), adv)
        with torch.no_grad():
            emb = m64(torch.from_numpy(adv).double())
        cos = nn.functional.cosine_similarity(clean, emb, dim=1, eps=0).numpy()
        np.save(os.path.join(OUT, stem + "_cos.npy"), cos)
        print(f"{attack}: PyTorch cosine mean {cos.mean():.6f}, min {cos.min():.6f}")


if __name__ == "__main__":
    main()
