#!/usr/bin/python3
"""Crafted ONNX models for the import limits, single assignment and unsupported ops
(models/ir/limits_test.go, cmd/advcheck/hostile_test.go).

Regenerate from the repository root:

    /usr/bin/python3 testdata/gen_hostile_fold.py

Every model is a valid classifier x [N×4] → Gemm → y [N×2] (10 classes for ssa_*) with a
hostile part beside or inside it. The folded constant reaches the output (through a
ReduceSum added to y) so that no pass can skip it as dead code.

- fold_constantofshape.onnx  ConstantOfShape of 2^28 elements (2 GiB as float64)
- fold_constantofshape4.onnx four ConstantOfShape nodes of 2^28 elements
- fold_many.onnx             eight ConstantOfShape nodes of 2^24 elements: each under the
                             per-tensor limit, 2^27 together
- fold_gather.onnx           Gather of a 4096-wide row by 2^22 indices: 2^34 elements
- fold_pad.onnx              Pad of a 4-element constant by 2^30 on each side
- fold_broadcast.onnx        Add of constants [2^16×1] and [1×2^16]: 2^32 elements
- fold_broadcast_small.onnx  the same for 2048: 2^22 elements, under the default limits
- fold_concat.onnx           Concat of one 2^20-element constant 64 times: 2^26 elements
- fold_expand.onnx           Expand of a constant to [2^20×2^20]
- fold_tile.onnx             Tile of a 1000-element constant ×10^6
- fold_range.onnx            Range 0 to 10^12
- fold_resize.onnx           Resize of a constant image by a scale of 10^4
- ssa_last_writer.onnx       two Gemm nodes write "logits": 10 classes declared, the last
                             writer has 32
- ssa_initializer.onnx       a node output shadows an initializer
- ssa_input.onnx             a node output has the graph input's name
- unsupported_ops.onnx       a small PyTorch export (Hardswish, LayerNorm, torch.where)
"""
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

out = "testdata/hostile/"
OPSET = [helper.make_opsetid("", 13)]


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def classifier(nodes, inits, hostile_sum=None, classes=2, name="g"):
    """x [N×4] → Gemm → y [N×classes], plus hostile nodes; hostile_sum, if given,
    names a tensor whose sum is added to y."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", classes])
    rng = np.random.default_rng(0)
    inits = inits + [
        numpy_helper.from_array(rng.standard_normal((4, classes)).astype(np.float32), "W"),
        numpy_helper.from_array(np.zeros(classes, np.float32), "B"),
    ]
    head = [helper.make_node("Gemm", ["x", "W", "B"], ["z" if hostile_sum else "y"], name="fc")]
    if hostile_sum:
        head += [
            helper.make_node("Cast", [hostile_sum], ["hf"], to=TensorProto.FLOAT, name="cast_h"),
            helper.make_node("ReduceSum", ["hf"], ["hs"], keepdims=0, name="sum_h"),
            helper.make_node("Add", ["z", "hs"], ["y"], name="add_h"),
        ]
    g = helper.make_graph(nodes + head, name, [x], [y], inits)
    return helper.make_model(g, opset_imports=OPSET)


def save(m, name, check=True):
    if check:
        onnx.checker.check_model(m)
    onnx.save(m, out + name)


def cos(name, shape_name, n, value=1.0):
    return helper.make_node("ConstantOfShape", [shape_name], [name], name=name,
                            value=helper.make_tensor("v", TensorProto.FLOAT, [1], [value]))


# ConstantOfShape of 2^28 elements, once and four times.
save(classifier([cos("c", "s", 1)], [const("s", [1 << 28])], "c"), "fold_constantofshape.onnx")
nodes = [cos("c%d" % i, "s", 1) for i in range(4)]
nodes += [helper.make_node("Add", ["c0", "c1"], ["a01"]), helper.make_node("Add", ["c2", "c3"], ["a23"]),
          helper.make_node("Add", ["a01", "a23"], ["c"])]
save(classifier(nodes, [const("s", [1 << 28])], "c"), "fold_constantofshape4.onnx")

# Eight of 2^24: each fits the per-tensor limit, together they do not.
nodes = [cos("c%d" % i, "s", 1) for i in range(8)]
nodes += [helper.make_node("Concat", ["c%d" % i for i in range(8)], ["c"], axis=0, name="cat")]
save(classifier(nodes, [const("s", [1 << 24])], "c"), "fold_many.onnx")

# Gather amplification: 2^22 zero indices into a [1×4096] row.
nodes = [helper.make_node("ConstantOfShape", ["s"], ["idx"], name="idx",
                          value=helper.make_tensor("v", TensorProto.INT64, [1], [0])),
         helper.make_node("Gather", ["row", "idx"], ["c"], axis=0, name="gather")]
save(classifier(nodes, [const("s", [1 << 22]), const("row", np.ones((1, 4096)), np.float32)], "c"),
     "fold_gather.onnx")

# Pad of a constant by 2^30 on each side.
nodes = [helper.make_node("Pad", ["v4", "pads"], ["c"], mode="constant", name="pad")]
save(classifier(nodes, [const("v4", [1, 2, 3, 4], np.float32), const("pads", [1 << 30, 1 << 30])], "c"),
     "fold_pad.onnx")

# Broadcasting Add of [n×1] and [1×n] constants: 2^32 elements for n = 2^16; 2^22 (under
# the default limits, over --max-tensor-elements 1000000) for n = 2048.
for n, name in [(1 << 16, "fold_broadcast.onnx"), (2048, "fold_broadcast_small.onnx")]:
    nodes = [cos("col", "scol", 1), cos("row", "srow", 1), helper.make_node("Add", ["col", "row"], ["c"], name="outer")]
    save(classifier(nodes, [const("scol", [n, 1]), const("srow", [1, n])], "c"), name)

# Concat of one 2^20-element constant 64 times.
nodes = [cos("one", "s", 1), helper.make_node("Concat", ["one"] * 64, ["c"], axis=0, name="cat")]
save(classifier(nodes, [const("s", [1 << 20])], "c"), "fold_concat.onnx")

# Expand, Tile and Range fold constants (checked before allocating); Resize is not imported.
nodes = [helper.make_node("Expand", ["v1", "shape"], ["c"], name="expand")]
save(classifier(nodes, [const("v1", [1], np.float32), const("shape", [1 << 20, 1 << 20])], "c"), "fold_expand.onnx")
nodes = [helper.make_node("Tile", ["v1k", "reps"], ["c"], name="tile")]
save(classifier(nodes, [const("v1k", np.ones(1000), np.float32), const("reps", [10 ** 6])], "c"), "fold_tile.onnx")
nodes = [helper.make_node("Range", ["start", "limit", "delta"], ["c"], name="range")]
save(classifier(nodes, [const("start", 0), const("limit", 10 ** 12), const("delta", 1)], "c"), "fold_range.onnx")
nodes = [helper.make_node("Resize", ["img", "", "scales"], ["c"], mode="nearest", name="resize")]
save(classifier(nodes, [const("img", np.ones((1, 1, 4, 4)), np.float32),
                        const("scales", [1, 1, 1e4, 1e4], np.float32)], "c"), "fold_resize.onnx")

# Single assignment. The ONNX checker refuses these, so they are saved unchecked.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])
y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])
rng = np.random.default_rng(1)
w10 = numpy_helper.from_array(rng.standard_normal((16, 10)).astype(np.float32), "W10")
w32 = numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "W32")
g = helper.make_graph([helper.make_node("Gemm", ["x", "W10"], ["logits"], name="fc10"),
                       helper.make_node("Gemm", ["x", "W32"], ["logits"], name="fc32")],
                      "ssa", [x], [y], [w10, w32])
save(helper.make_model(g, opset_imports=OPSET), "ssa_last_writer.onnx", check=False)

g = helper.make_graph([helper.make_node("Relu", ["x"], ["W10"], name="shadow"),
                       helper.make_node("Gemm", ["x", "W10"], ["logits"], name="fc10")],
                      "ssa", [x], [y], [w10])
save(helper.make_model(g, opset_imports=OPSET), "ssa_initializer.onnx", check=False)

g = helper.make_graph([helper.make_node("Relu", ["x"], ["x"], name="again"),
                       helper.make_node("Gemm", ["x", "W10"], ["logits"], name="fc10")],
                      "ssa", [x], [y], [w10])
save(helper.make_model(g, opset_imports=OPSET), "ssa_input.onnx", check=False)


# A real export with ops advcheck lacks.
class Unsupported(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.act = torch.nn.Hardswish()
        self.norm = torch.nn.LayerNorm(4 * 6 * 6)
        self.fc = torch.nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        h = self.act(self.conv(x)).flatten(1)
        h = self.norm(h)
        h = torch.where(h > 0, h, 0.1 * h)
        h = torch.where(h < 2, h, 2 * torch.ones_like(h))
        return self.fc(h)


torch.manual_seed(0)
torch.onnx.export(Unsupported().eval(), torch.zeros(1, 1, 8, 8), out + "unsupported_ops.onnx",
                  input_names=["x"], output_names=["logits"], dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}},
                  opset_version=14)
