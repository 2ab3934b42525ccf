#!/usr/bin/python3
"""A small image folder of varied-size JPEGs and PNGs, the pixels torchvision makes of it
with the ImageNet preprocessing (Resize(256) + CenterCrop(224) on PIL images), and a tiny
3×224×224 model, for datasets/resize_test.go and cmd/advcheck/resize_test.go.

Regenerate from the repository root (Debian python3 with numpy, PIL, torchvision, onnx):

    /usr/bin/python3 testdata/gen_resize.py

Writes testdata/resize/:

- imgs/red/*.jpg|png, imgs/blue/*.jpg|png  8 images of sizes from 150×200 (enlarged by
  Resize) to 640×231 and 900×700 (shrunk, where antialiasing matters), JPEG quality 85 with
  4:2:0 chroma, one gray JPEG, and PNGs; each is a random smooth colour field with sharp
  stripes, a checkerboard and a small patch of noise (fine detail the antialiasing must filter).
  Images in red/ are tinted red, in blue/ blue.
- golden.npz  x: uint8 8×3×224×224, y: int64 8 — the images in ImageFolder order after
  torchvision's pil_loader (convert("RGB")), Resize(256) (BILINEAR, PIL's antialiased
  filter) and CenterCrop(224), as C×H×W planes; y is the class index (sorted folders: blue 0, red 1).
- resize64.npz  each image after Resize(64) alone (no crop; a strong shrink, and the image
  borders, where the filter is cut, are kept): "sizes" int64 8×2 (H, W after Resize) and
  "x" uint8, all the C×H×W planes in turn.
- gap224.onnx  N×3×224×224 in [0, 1] → 2 logits: GlobalAveragePool, then a Gemm whose
  logits are 10·(mean B − mean R) and 10·(mean R − mean B), so blue images are class 0.
"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
from PIL import Image
import torchvision.transforms as T
from torchvision.datasets.folder import pil_loader

out = "testdata/resize/"
rng = np.random.default_rng(20261203)

# (class, name, width, height, format)
IMAGES = [
    ("red", "a_300x257.jpg", 300, 257, "jpeg"),
    ("red", "b_231x640.jpg", 231, 640, "jpeg"),
    ("red", "c_150x200.png", 150, 200, "png"),
    ("red", "d_333x333_gray.jpg", 333, 333, "gray"),
    ("blue", "a_512x384.jpg", 512, 384, "jpeg"),
    ("blue", "b_640x231.jpg", 640, 231, "jpeg"),
    ("blue", "c_257x300.png", 257, 300, "png"),
    ("blue", "d_900x700.jpg", 900, 700, "jpeg"),
]


def picture(w, h, tint):
    """A smooth colour field with stripes, a checkerboard and a noise patch, uint8 H×W×3."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        a, b, p = rng.uniform(0.5, 3, size=3)
        img[..., c] = 0.5 + 0.25 * np.sin(a * xx / w * 2 * np.pi + p) * np.cos(b * yy / h * 2 * np.pi)
    img += tint
    # thin stripes with a period of 3 px: aliasing without a low-pass filter
    band = (yy > h * 0.1) & (yy < h * 0.3)
    img[band] += (0.3 * ((xx[band] // 1) % 3 == 0))[:, None]
    # a checkerboard of 2 px squares
    box = (xx > w * 0.6) & (xx < w * 0.9) & (yy > h * 0.5) & (yy < h * 0.8)
    img[box] = (((xx[box] // 2 + yy[box] // 2) % 2) * 0.8 + 0.1)[:, None]
    # a noise patch
    npatch = (xx < w * 0.12) & (yy > h * 0.8)
    img[npatch] += rng.normal(scale=0.15, size=(int(npatch.sum()), 3))
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def main():
    tint = {"red": np.array([0.25, 0.0, -0.25]), "blue": np.array([-0.25, 0.0, 0.25])}
    for cls, name, w, h, fmt in IMAGES:
        os.makedirs(out + "imgs/" + cls, exist_ok=True)
        im = Image.fromarray(picture(w, h, tint[cls]), "RGB")
        path = out + "imgs/" + cls + "/" + name
        if fmt == "png":
            im.save(path, optimize=True)
        elif fmt == "gray":
            im.convert("L").save(path, quality=85)
        else:
            im.save(path, quality=85, subsampling=2)

    full = T.Compose([T.Resize(256), T.CenterCrop(224)])
    xs, ys, sizes, flat = [], [], [], []
    for label, cls in enumerate(sorted(os.listdir(out + "imgs"))):  # as ImageFolder: blue 0, red 1
        for name in sorted(os.listdir(out + "imgs/" + cls)):
            img = pil_loader(out + "imgs/" + cls + "/" + name)
            xs.append(np.asarray(full(img)).transpose(2, 0, 1))
            ys.append(label)
            r = np.asarray(T.Resize(64)(img)).transpose(2, 0, 1)
            sizes.append(r.shape[1:])
            flat.append(r.ravel())
    np.savez_compressed(out + "golden.npz", x=np.stack(xs).astype(np.uint8), y=np.array(ys, dtype=np.int64))
    np.savez_compressed(out + "resize64.npz", sizes=np.array(sizes, dtype=np.int64), x=np.concatenate(flat))

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])
    w = np.array([[-10, 0, 10], [10, 0, -10]], dtype=np.float32)
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["means"], axis=1),
        helper.make_node("Gemm", ["means", "w", "b"], ["logits"], transB=1),
    ]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.zeros(2, np.float32), "b")]
    g = helper.make_graph(nodes, "gap224", [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_resize.py")
    onnx.checker.check_model(m)
    onnx.save(m, out + "gap224.onnx")


main()
