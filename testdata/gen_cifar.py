#!/usr/bin/python3
"""Tiny CIFAR-10 and CIFAR-100 files in the binary format, the same images as .npy, and a
10-class colour model on 3×32×32 inputs, for datasets/cifar_test.go and
cmd/advcheck/cifar_test.go.

Regenerate from the repository root (Debian python3 with numpy and onnx):

    /usr/bin/python3 testdata/gen_cifar.py

Writes testdata/cifar/:

- cifar-10-batches-bin/test_batch.bin  20 records of 1 label byte + 3,072 pixel bytes (R plane,
  G plane, B plane, each 32×32 row-major), as in the "binary version" of CIFAR-10.
  Record 0 is pure red (R plane 255, G and B 0), record 1 pure green, record 2 pure blue;
  the others are a random colour per record plus noise of ±20 levels.
- cifar10_x.npy (uint8 20×3×32×32) and cifar10_y.npy (int64 20): the same images and labels.
- cifar-100-binary/test.bin  8 records of coarse label + fine label + 3,072 pixel bytes.
  Fine labels are 57, 3, 99, 10, … (some ≥ 10); coarse labels differ from the fine ones.
- cifar100_x.npy (uint8 8×3×32×32) and cifar100_y.npy (int64 8): the images and FINE labels.
- rgb10.onnx  N×3×32×32 in [0, 1] → 10 logits: GlobalAveragePool, then a Gemm with fixed random
  weights W (10×3) and bias b, so a sample's class depends on its mean colour only.
- rgb100.onnx  the same with 100 outputs, for the CIFAR-100 file.

The CIFAR-10 labels are the model's own predictions (computed here in float64) for records
0…15 and another class for records 16…19, so the model's clean accuracy on the file is
exactly 16/20; every record's top logit leads the next by at least 0.05, so float32
engines agree with the float64 predictions.
"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = "testdata/cifar/"
rng = np.random.default_rng(20261202)

W = rng.normal(size=(10, 3))
b = -W @ np.full(3, 0.5) + rng.normal(size=10) * 0.1  # centred on mid-grey, so classes vary


def logits(img):
    """img: 3×32×32 uint8 → the model's logits, in float64."""
    means = (img.astype(np.float64) / 255).reshape(3, -1).mean(axis=1)
    return W @ means + b


def margin(z):
    s = np.sort(z)
    return s[-1] - s[-2]


def solid(channel):
    img = np.zeros((3, 32, 32), np.uint8)
    img[channel] = 255
    return img


def noisy():
    while True:
        base = rng.uniform(0, 255, size=3)
        noise = rng.integers(-20, 21, size=(3, 32, 32))
        img = np.clip(base[:, None, None] + noise, 0, 255).astype(np.uint8)
        if margin(logits(img)) >= 0.05:
            return img


def write_bin(path, labels, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        for lab, img in zip(labels, x):
            f.write(bytes(lab))
            f.write(img.tobytes())  # C order: R plane, G plane, B plane, each row-major


# CIFAR-10.
x10 = np.stack([solid(0), solid(1), solid(2)] + [noisy() for _ in range(17)])
for img in x10:
    assert margin(logits(img)) >= 0.05
pred = np.array([int(np.argmax(logits(img))) for img in x10])
y10 = pred.copy()
for i in range(16, 20):
    y10[i] = (pred[i] + 1 + i % 9) % 10  # never the prediction
assert (y10 == pred).sum() == 16
write_bin(out + "cifar-10-batches-bin/test_batch.bin", [[int(v)] for v in y10], x10)
np.save(out + "cifar10_x.npy", x10)
np.save(out + "cifar10_y.npy", y10.astype(np.int64))

# CIFAR-100: fine labels used, coarse labels different so that a mix-up shows.
fine = np.array([57, 3, 99, 10, 0, 42, 7, 88])
coarse = np.array([19, 0, 5, 11, 2, 8, 13, 1])
assert not (fine == coarse).any()
x100 = np.stack([noisy() for _ in range(8)])
write_bin(out + "cifar-100-binary/test.bin", [[int(c), int(f)] for c, f in zip(coarse, fine)], x100)
np.save(out + "cifar100_x.npy", x100)
np.save(out + "cifar100_y.npy", fine.astype(np.int64))



def colour_model(name, w, bias):
    k = w.shape[0]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", k])
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["means"], axis=1),
        helper.make_node("Gemm", ["means", "w", "b"], ["logits"], transB=1),
    ]
    inits = [numpy_helper.from_array(w.astype(np.float32), "w"),
             numpy_helper.from_array(bias.astype(np.float32), "b")]
    g = helper.make_graph(nodes, name, [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_cifar.py")
    onnx.checker.check_model(m)
    onnx.save(m, out + name + ".onnx")


colour_model("rgb10", W, b)
W100 = rng.normal(size=(100, 3))
colour_model("rgb100", W100, -W100 @ np.full(3, 0.5))
print("predictions", pred.tolist(), "labels", y10.tolist())
