#!/usr/bin/python3
"""Tiny colour classifiers for the class-mapping tests (cmd/advcheck/folder_test.go).

Regenerate from the repository root:

    /usr/bin/python3 testdata/gen_classes.py

Both take N×3×2×2 images in [0, 1], average each channel (GlobalAveragePool) and map the
three channel means to logits with a Gemm (weight 2, bias −1, so that logits do not look like
probabilities), so a solid-colour image is classified by its colour:

- rgb3.onnx     3 outputs: output k is 2·(mean of channel k) − 1 (red 0, green 1, blue 2)
- rgb1000.onnx  1000 outputs, as an ImageNet classifier: red is output 151 (ImageNet's
                Chihuahua, n02085620), green is output 281 (tabby cat, n02123045), blue is
                output 1; every other output is −1
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = "testdata/classes/"


def colour_model(w, name):
    k = w.shape[0]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 2, 2])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", k])
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["means"], axis=1),
        helper.make_node("Gemm", ["means", "w", "b"], ["logits"], transB=1),
    ]
    inits = [numpy_helper.from_array(w.astype(np.float32), "w"),
             numpy_helper.from_array(-np.ones(k, np.float32), "b")]
    g = helper.make_graph(nodes, name, [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_classes.py")
    onnx.checker.check_model(m)
    onnx.save(m, out + name + ".onnx")


colour_model(2 * np.eye(3), "rgb3")
w = np.zeros((1000, 3))
w[151, 0] = w[281, 1] = w[1, 2] = 2
colour_model(w, "rgb1000")
