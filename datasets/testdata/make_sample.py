#!/usr/bin/python3
"""Regenerate datasets/mnistsample/ (the first 1,000 MNIST test images and labels, gzipped IDX)
from the full MNIST in data/mnist (`make data`). Run from the repository root:

    /usr/bin/python3 datasets/testdata/make_sample.py
"""
import gzip
import struct

N = 1000
src = "data/mnist/"
img = open(src + "t10k-images-idx3-ubyte", "rb").read()
lab = open(src + "t10k-labels-idx1-ubyte", "rb").read()
out = {
    "datasets/mnistsample/t10k-1000-images-idx3-ubyte.gz": struct.pack(">IIII", 0x803, N, 28, 28) + img[16:16 + N * 784],
    "datasets/mnistsample/t10k-1000-labels-idx1-ubyte.gz": struct.pack(">II", 0x801, N) + lab[8:8 + N],
}
for path, data in out.items():
    with open(path, "wb") as f:
        f.write(gzip.compress(data, compresslevel=9, mtime=0))
