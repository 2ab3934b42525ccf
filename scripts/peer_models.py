#!/usr/bin/python3
"""The larger peer models of `make bench-peer`: torchvision architectures with random weights.

Usage (from the repository root):

    /usr/bin/python3 scripts/peer_models.py --out data/peer            # all of them
    /usr/bin/python3 scripts/peer_models.py --out data/peer resnet50   # one

For each NAME it writes NAME.onnx (opset 13, dynamic batch, inference mode) and NAME.pt (the
module's state_dict), so that scripts/peer_bench.py runs exactly the weights advcheck loads.
The files are large (up to 100 MB) and are not committed; bench-peer makes them when missing.

Models (random weights, seeded; the speed and memory of a network do not depend on its weights):
  resnet50, densenet121, mobilenet_v2, efficientnet_b0   ImageNet, 3x224x224, 1000 classes
  vit_b_16, convnext_tiny                                ImageNet, 3x224x224, 1000 classes (ViT's head,
                                                         which torchvision initialises to zero, gets
                                                         N(0, 0.01) weights as check_architectures.py does)
  cifar_resnet18                                         CIFAR-10, 3x32x32, 10 classes: ResNet-18
                                                         with a 3x3 stride-1 stem and no max-pool,
                                                         the usual CIFAR variant
  vgg11_bn                                               ImageNet, 3x224x224, 1000 classes; 531 MB,
                                                         only on request (not part of "all"): the
                                                         large model of docs/engine.md's load-memory
                                                         measurements (write it outside the tree,
                                                         e.g. --out /tmp/peer)
"""

import argparse
import os

import torch
import torch.nn as nn
import torchvision

IMAGENET = ["resnet50", "densenet121", "mobilenet_v2", "efficientnet_b0", "vit_b_16", "convnext_tiny"]
ALL = IMAGENET + ["cifar_resnet18"]
EXTRA = ["vgg11_bn"]


def build(name):
    """The module and its input shape (C, H, W)."""
    torch.manual_seed(0)
    if name == "cifar_resnet18":
        m = torchvision.models.resnet18(num_classes=10)
        m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        m.maxpool = nn.Identity()
        shape = (3, 32, 32)
    else:
        m = getattr(torchvision.models, name)(weights=None)
        shape = (3, 224, 224)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Linear) and not mod.weight.any():
                mod.weight.normal_(0, 0.01)
    # Random BatchNorm statistics, so that the folded scales are not all 1.
    g = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) * 0.5 + 0.75)
    return m.eval(), shape


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/peer")
    ap.add_argument("names", nargs="*", help="models to export (default: all): " + ", ".join(ALL))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.names or ALL:
        if name not in ALL + EXTRA:
            ap.error("unknown model %r (have %s)" % (name, ", ".join(ALL + EXTRA)))
        m, shape = build(name)
        x = torch.rand(1, *shape)
        onnx_path = os.path.join(args.out, name + ".onnx")
        torch.onnx.export(m, x, onnx_path, opset_version=13, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        torch.save(m.state_dict(), os.path.join(args.out, name + ".pt"))
        print(onnx_path, flush=True)


if __name__ == "__main__":
    main()
