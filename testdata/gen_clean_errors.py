#!/usr/bin/python3
"""Eight MNIST test images of which zoo:mnist-cnn misclassifies four, for the
tests of figures over attacked samples (cmd/advcheck/cosine_test.go).

Regenerate from the repository root:

    /usr/bin/python3 testdata/gen_clean_errors.py

- clean_errors/x.npy  uint8 8×28×28: t10k images 0, 1, 2, 3 (classified
                      correctly) and 247, 321, 340, 445 (misclassified by
                      zoo:mnist-cnn as 6, 7, 3, 0)
- clean_errors/y.npy  int64 8: their true labels
"""
import gzip

import numpy as np

src = "datasets/mnistsample/"
out = "testdata/clean_errors/"
pick = [0, 1, 2, 3, 247, 321, 340, 445]

with gzip.open(src + "t10k-1000-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
with gzip.open(src + "t10k-1000-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)

np.save(out + "x.npy", images[pick])
np.save(out + "y.npy", labels[pick].astype(np.int64))
