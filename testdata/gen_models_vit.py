#!/usr/bin/python3
"""Generate small transformer-era ONNX models and their PyTorch-autograd goldens.

Regenerate (from the repository root):

    /usr/bin/python3 testdata/gen_models_vit.py

Models (3×32×32 inputs, 10 classes, random weights with fixed seeds), each exported by
PyTorch 1.13 at opsets 13 and 17:

    convnext13, convnext17  torchvision.models.convnext.ConvNeXt with two stages (16 and 32
                            channels, two blocks each): depthwise 7×7 convolutions, LayerNorm2d
                            (permute → layer_norm → permute), GELU, layer scale. Opset 13
                            writes each layer norm as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div,
                            opset 17 as LayerNormalization.
    deit13, deit17          a DeiT-style vision transformer written as timm writes it: a patch
                            embedding convolution, a class token expanded to the batch
                            (Shape/Equal/Where/Expand), position embeddings, two pre-norm
                            blocks with 4-head attention (qkv reshaped to [3, N, heads, tokens,
                            dim] and taken apart with Gather, batched MatMuls, Softmax on the
                            last axis), an exact-GELU MLP and the class token's logits
                            (Gather on axis 1).
    vit13, vit17            torchvision.models.VisionTransformer(image_size=32, patch_size=8,
                            num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128):
                            nn.MultiheadAttention, whose export merges the batch with the heads
                            ([L×N·H×E/H]) and with the tokens ([L·N×E]).
    swin13, swin17          torchvision.models.swin_transformer.SwinTransformer with two stages
                            (embed_dim 16, depths 2 and 2, 2 and 4 heads, window 4, patch 4):
                            windows merged with the batch ([N·W×16×C]), the shifted windows'
                            torch.roll and attention mask (Range, Mod, ScatterND, Equal, Where,
                            Not folded), relative position biases, patch merging.
    einsum13                attention written with torch.einsum (exported as Einsum): a patch
                            embedding to 16 tokens of 32 channels, 4 heads, scores
                            "bhqd,bhkd->bhqk", Softmax, "bhqk,bhkd->bhqd", a token mixing by a
                            constant matrix "ij,bjk->bik", a channel projection "bnc,cd->bnd";
                            then x.repeat(1, 2, 3) (Tile of activations on two axes) times a
                            constant of the tiled shape, a mean over the tokens and the logits.

Goldens are written in the layout testdata/gen_models.py writes (x, y, out, logits, grad_ce),
computed in float64 by autograd on 8 random inputs in [0, 1]. Layer scales, LayerNorm weights
and biases are random (not PyTorch's 1e-6, 1 and 0), so that every part of the network
reaches the logits.
"""

import os
import sys

import torch
import torch.nn as nn
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_models import Base, export, golden_inputs, goldens, op_histogram, save_goldens  # noqa: E402


class TinyConvNeXt(Base):
    SHAPE = (3, 32, 32)

    def __init__(self):
        super().__init__()
        self.net = ConvNeXt([CNBlockConfig(16, 32, 2), CNBlockConfig(32, None, 2)],
                            stochastic_depth_prob=0.0, num_classes=10)
        randomize_norms(self.net)

    def logits(self, x):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DeiT(nn.Module):
    """timm's VisionTransformer reduced to what DeiT uses (no distillation token)."""

    def __init__(self, image=32, patch=8, dim=64, depth=2, heads=4, mlp=128, classes=10):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


class TinyDeiT(Base):
    SHAPE = (3, 32, 32)

    def __init__(self):
        super().__init__()
        self.net = DeiT()
        randomize_norms(self.net)
        with torch.no_grad():
            self.net.cls_token.normal_(0, 1)
            self.net.pos_embed.normal_(0, 1)

    def logits(self, x):
        return self.net(x)


class TinyViT(Base):
    SHAPE = (3, 32, 32)

    def __init__(self):
        super().__init__()
        self.net = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64,
                                     mlp_dim=128, num_classes=10)
        randomize_norms(self.net)
        with torch.no_grad():
            self.net.class_token.normal_(0, 1)
            self.net.heads.head.weight.normal_(0, 0.1)  # torchvision initialises it to zero

    def logits(self, x):
        return self.net(x)


class TinySwin(Base):
    SHAPE = (3, 32, 32)

    def __init__(self):
        super().__init__()
        self.net = SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                                   window_size=[4, 4], stochastic_depth_prob=0.0, num_classes=10)
        randomize_norms(self.net)
        with torch.no_grad():
            for name, p in self.net.named_parameters():
                if "relative_position_bias_table" in name:
                    p.normal_(0, 1)

    def logits(self, x):
        return self.net(x)


class TinyEinsum(Base):
    SHAPE = (3, 16, 16)

    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.heads = heads
        self.embed = nn.Conv2d(3, dim, 4, stride=4)
        self.qkv = nn.Linear(dim, dim * 3)
        self.mix = nn.Parameter(torch.randn(16, 16) * 0.3)
        self.proj = nn.Parameter(torch.randn(dim, 24) * 0.2)
        self.tiled = nn.Parameter(torch.randn(32, 72))
        self.head = nn.Linear(72, 10)

    def logits(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)
        b, n, c = t.shape
        qkv = self.qkv(t).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.einsum("bhqd,bhkd->bhqk", q, k) * (c // self.heads) ** -0.5
        o = torch.einsum("bhqk,bhkd->bhqd", attn.softmax(dim=-1), v).transpose(1, 2).reshape(b, n, c)
        o = torch.einsum("ij,bjk->bik", self.mix, o)
        o = torch.einsum("bnc,cd->bnd", o, self.proj)
        o = o.repeat(1, 2, 3) * self.tiled
        return self.head(o.mean(1))


@torch.no_grad()
def calibrate(model, x, target_std=3.0):
    """gen_models.calibrate, skipping the Linear modules whose forward never runs (those of
    nn.MultiheadAttention, which uses their weights directly)."""
    for layer in [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]:
        seen = {}
        h = layer.register_forward_hook(lambda m, i, o: seen.setdefault("o", o))
        model.logits(x)
        h.remove()
        if "o" in seen:
            std = seen["o"].std().item()
            layer.weight.mul_(1.0 / std)
            if layer.bias is not None:
                layer.bias.mul_(1.0 / std)
    w, b = model.final_params()
    b.sub_(model.logits(x).mean(0))
    s = target_std / model.logits(x).std().item()
    w.mul_(s)
    b.mul_(s)


@torch.no_grad()
def randomize_norms(net):
    for name, p in net.named_parameters():
        if "layer_scale" in name:
            p.uniform_(0.5, 1.0)
    for m in net.modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0, 0.2)


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    seed = 20261203
    jobs = [
        ("convnext13", TinyConvNeXt, 13, ["ReduceMean", "Pow", "Sqrt", "Erf", "Conv"]),
        ("convnext17", TinyConvNeXt, 17, ["LayerNormalization", "Erf", "Conv"]),
        ("deit13", TinyDeiT, 13, ["Equal", "Where", "Expand", "Gather", "Softmax", "MatMul", "Pow"]),
        ("deit17", TinyDeiT, 17, ["Equal", "Where", "Expand", "Gather", "Softmax", "MatMul", "LayerNormalization"]),
        ("vit13", TinyViT, 13, ["Equal", "Where", "Expand", "Softmax", "MatMul", "Pow"]),
        ("vit17", TinyViT, 17, ["Equal", "Where", "Expand", "Softmax", "MatMul", "LayerNormalization"]),
        ("swin13", TinySwin, 13, ["Range", "Mod", "ScatterND", "Where", "Not", "Softmax", "Pow"]),
        ("swin17", TinySwin, 17, ["Range", "Mod", "ScatterND", "Where", "Not", "Softmax", "LayerNormalization"]),
        ("einsum13", TinyEinsum, 13, ["Einsum", "Tile", "Softmax"]),
    ]
    only = set(sys.argv[1:])
    for name, cls, opset, want in jobs:
        if only and name not in only:
            continue
        torch.manual_seed(seed)
        model = cls().eval()
        model.EXPORT = dict(opset_version=opset)
        x, y = golden_inputs(cls, None, seed + 2)
        calibrate(model, x)
        path = os.path.join(HERE, "models", name + ".onnx")
        export(model, name, path, x)
        out, logits, grad = goldens(model, x, y)
        save_goldens(os.path.join(HERE, "golden", name), x, y, out, logits, grad)
        hist, _ = op_histogram(path)
        missing = [op for op in want if op not in hist]
        if missing:
            sys.exit(f"{name}: the export lacks {missing}: {dict(hist)}")
        print(name, os.path.getsize(path), "bytes", dict(sorted(hist.items())))


if __name__ == "__main__":
    main()
