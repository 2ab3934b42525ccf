#!/usr/bin/python3
"""JPEG files and the pixels PIL decodes from them, for datasets/jpeg_test.go.

PIL (Debian's python3-pil 9.4) decodes JPEGs with Debian's libjpeg62-turbo
2.1.5: ISLOW IDCT, fancy upsampling, libjpeg's YCbCr to RGB. advcheck's
libjpeg build must reproduce these pixels bit for bit. Regenerate from the
repository root:

    /usr/bin/python3 testdata/gen_jpeg.py

Writes datasets/testdata/jpeg/:

- small/NAME.jpg         23×17 (odd sizes, partial MCUs) and 16×16 images:
                         4:4:4, 4:2:2, 4:2:0, gray, progressive 4:2:0 and gray
- small/NAME.rgb.npy     PIL's Image.open(f).convert("RGB") as uint8 H×W×3
- small/NAME.l.npy       PIL's Image.open(f).convert("L") as uint8 H×W
- small/cmyk.jpg         a CMYK JPEG, which advcheck refuses
- folder224/CLASS/*.jpg  224×224 images, 4:2:0 baseline and progressive, two classes
- manifest.json          for folder224: the SHA-256 of PIL's RGB pixels of each file
                         and advcheck's decoded-data hash (datasets.HashHeader
                         layout) of the folder read with 3 and with 1 channel;
                         for corrupt copies of two small files (truncated,
                         one bit flipped): PIL's outcome, "error" or the
                         SHA-256 of its RGB pixels
"""
import hashlib
import io
import json
import os
import struct

import numpy as np
from PIL import Image

OUT = "datasets/testdata/jpeg/"
rng = np.random.default_rng(19)


def picture(h, w):
    """A photo-like RGB image: smooth colour gradients, hard coloured edges
    (where chroma subsampling and upsampling matter most) and noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / (w / 5.0) + 0.3)
    g = 128 + 90 * np.cos(y / (h / 4.0)) * np.sin(x / (w / 3.0))
    b = 255 * (x + y) / (w + h)
    img = np.stack([r, g, b], -1)
    # Saturated blocks and a thin stripe with edges at odd offsets.
    img[h // 5 : h // 2, w // 7 : w // 2] = [230, 20, 40]
    img[h // 2 : h - 2, w // 2 + 1 : w - 3] = [10, 40, 220]
    img[:, w // 3 : w // 3 + 1] = [250, 250, 0]
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def jpeg(arr, **kw):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, "JPEG", **kw)
    return b.getvalue()


def pil_decode(data, mode):
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode))


def dataset_hash(xs, labels):
    """datasets.HashHeader: header, N, C, H, W, float32 pixels, int64 labels."""
    x = np.stack(xs).astype(np.float32) / np.float32(255)
    h = hashlib.sha256(b"advcheck/dataset/v1\n")
    h.update(struct.pack("<4Q", *x.shape))
    h.update(x.astype("<f4").tobytes())
    h.update(np.asarray(labels, dtype="<i8").tobytes())
    return h.hexdigest()


os.makedirs(OUT + "small", exist_ok=True)
pic = picture(17, 23)
gray = np.asarray(Image.fromarray(pic).convert("L"))
small = {
    "rgb444": jpeg(pic, quality=90, subsampling=0),
    "rgb422": jpeg(pic, quality=90, subsampling=1),
    "rgb420": jpeg(pic, quality=90, subsampling=2),
    "rgb420_q50": jpeg(pic, quality=50, subsampling=2),
    "rgb420_16": jpeg(picture(16, 16), quality=90, subsampling=2),
    "gray": jpeg(gray, quality=90),
    "prog420": jpeg(pic, quality=90, subsampling=2, progressive=True),
    "prog_gray": jpeg(gray, quality=90, progressive=True),
}
# CMYK: refused (PIL's CMYK to RGB is not reproduced), so no pixels stored.
with open(OUT + "small/cmyk.jpg", "wb") as f:
    b = io.BytesIO()
    Image.fromarray(pic).convert("CMYK").save(b, "JPEG", quality=90)
    f.write(b.getvalue())
for name, data in small.items():
    with open(OUT + "small/%s.jpg" % name, "wb") as f:
        f.write(data)
    np.save(OUT + "small/%s.rgb.npy" % name, pil_decode(data, "RGB"))
    np.save(OUT + "small/%s.l.npy" % name, pil_decode(data, "L"))

manifest = {"folder224": {"files": {}}, "corrupt": []}
classes = ["cat", "dog"]
xs_rgb, xs_l, labels = [], [], []
for label, cls in enumerate(classes):
    os.makedirs(OUT + "folder224/" + cls, exist_ok=True)
    for name, kw in [("a_baseline.jpg", {}), ("b_progressive.jpg", {"progressive": True})]:
        data = jpeg(picture(224, 224), quality=75, subsampling=2, **kw)
        with open(OUT + "folder224/%s/%s" % (cls, name), "wb") as f:
            f.write(data)
        rgb = pil_decode(data, "RGB")
        manifest["folder224"]["files"]["%s/%s" % (cls, name)] = hashlib.sha256(rgb.tobytes()).hexdigest()
        xs_rgb.append(rgb.transpose(2, 0, 1))
        xs_l.append(pil_decode(data, "L")[None])
        labels.append(label)
manifest["folder224"]["sha256_decoded_rgb"] = dataset_hash(xs_rgb, labels)
manifest["folder224"]["sha256_decoded_l"] = dataset_hash(xs_l, labels)

for name in ["rgb420", "prog420"]:
    data = small[name]
    cases = [("truncate", n, 0) for n in sorted({2, 3, 20, 100, 300, len(data) // 2, len(data) - 10, len(data) - 2, len(data) - 1})]
    cases += [("flip", i, 1 << (i % 8)) for i in range(0, len(data), 29)]
    for kind, at, bit in cases:
        if kind == "truncate":
            bad = data[:at]
        else:
            bad = bytearray(data)
            bad[at] ^= bit
            bad = bytes(bad)
        try:
            want = hashlib.sha256(pil_decode(bad, "RGB").tobytes()).hexdigest()
        except Exception:
            want = "error"
        manifest["corrupt"].append({"file": name + ".jpg", "kind": kind, "at": at, "bit": bit, "pil": want})

with open(OUT + "manifest.json", "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.write("\n")
