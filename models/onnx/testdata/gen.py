#!/usr/bin/env python3
"""Writes the ONNX files the models/onnx tests decode, and expected.json with
what the onnx Python package reads from them.

Run from the repository root with the system Python (torch 1.13, onnx 1.12):

    /usr/bin/python3 models/onnx/testdata/gen.py

The outputs are checked in; rerun only to change them.
"""

import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


class ConvNet(torch.nn.Module):
    """Conv → Relu → MaxPool → Flatten → Gemm, with a batch dimension param."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1, stride=2)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(4 * 2 * 2, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(torch.flatten(x, 1))


class ViewNet(torch.nn.Module):
    """x.view(x.size(0), -1) exports as Shape → Gather → Unsqueeze → Concat → Reshape."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2 * 3 * 3, 3)

    def forward(self, x):
        x = x * 0.5 + 1.0
        return torch.softmax(self.fc(x.view(x.size(0), -1)), dim=1)


def export(model, shape, name, opset):
    torch.manual_seed(0)
    for p in model.parameters():
        with torch.no_grad():
            p.copy_(torch.randn(p.shape) * 0.1)
    path = os.path.join(HERE, name)
    torch.onnx.export(model.eval(), torch.zeros(*shape), path, opset_version=opset,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return path


def helper_model(path):
    """A model built with onnx.helper: initializers in the typed fields
    (float_data, int64_data, int32_data for float16/uint8/bool, double_data,
    uint64_data), list attributes, metadata and an If with two subgraphs."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 3],
                           [0.5, -1.25, 3.0, 1e-3, -0.0, 65504.0])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 6])
    half = numpy_helper.from_array(np.array([1.0, -2.5, 0.0009765625, 65504.0], np.float16), "half")
    half_typed = helper.make_tensor("half_typed", TensorProto.FLOAT16, [2, 2],
                                    np.array([1.0, -2.5, 6.1035156e-05, -65504.0], np.float16))
    u8 = helper.make_tensor("u8", TensorProto.UINT8, [3], [0, 7, 255])
    flags = helper.make_tensor("flags", TensorProto.BOOL, [2], [True, False])
    dbl = helper.make_tensor("dbl", TensorProto.DOUBLE, [2], [3.141592653589793, -1e300])
    u64 = helper.make_tensor("u64", TensorProto.UINT64, [2], [0, 18446744073709551615])
    scalar = helper.make_tensor("scalar", TensorProto.FLOAT, [], [2.5])

    then_g = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["then_out"], name="then_id")],
        "then_branch", [], [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, ["N", 3])])
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["else_out"], name="else_neg")],
        "else_branch", [], [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, ["N", 3])])

    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["y"], name="gemm", alpha=0.25, beta=1.0, transB=1),
        helper.make_node("Constant", [], ["c"], name="const",
                         value=helper.make_tensor("c_val", TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])),
        helper.make_node("Pad", ["y"], ["p"], name="pad", mode="constant"),
        helper.make_node("Custom", ["p"], ["q"], name="custom", domain="com.example",
                         pads=[0, 1, 0, 1], scales=[0.5, 2.0], labels=["cat", "dog"]),
        helper.make_node("If", ["cond"], ["r"], name="branch", then_branch=then_g, else_branch=else_g),
    ]
    graph = helper.make_graph(
        nodes, "helper_graph",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)],
        initializer=[w, shape, half, half_typed, u8, flags, dbl, u64, scalar],
        doc_string="built with onnx.helper")
    model = helper.make_model(graph, producer_name="advcheck-testdata", producer_version="1",
                              opset_imports=[helper.make_opsetid("", 13),
                                             helper.make_opsetid("com.example", 1)])
    model.model_version = 7
    model.doc_string = "typed-field initializers"
    helper.set_model_props(model, {"author": "testdata", "license": "MIT"})
    onnx.save(model, path)
    return path


def dims(t):
    out = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def value_info(v):
    tt = v.type.tensor_type
    return {"name": v.name, "elem_type": tt.elem_type,
            "shape": dims(tt) if tt.HasField("shape") else None}


def values(t):
    a = numpy_helper.to_array(t).flatten()
    if a.dtype == np.bool_:
        a = a.astype(np.int64)
    return [v.item() for v in a[:6]]


def tensor(t):
    where = "raw_data" if t.HasField("raw_data") else "typed"
    return {"name": t.name, "data_type": t.data_type, "dims": list(t.dims),
            "storage": where, "count": int(np.prod(t.dims)) if len(t.dims) else 1,
            "first": values(t)}


def attribute(a):
    out = {"name": a.name, "type": a.type}
    if a.type == onnx.AttributeProto.FLOAT:
        out["f"] = a.f
    elif a.type == onnx.AttributeProto.INT:
        out["i"] = a.i
    elif a.type == onnx.AttributeProto.STRING:
        out["s"] = a.s.decode()
    elif a.type == onnx.AttributeProto.TENSOR:
        out["t"] = tensor(a.t)
    elif a.type == onnx.AttributeProto.GRAPH:
        out["g"] = graph(a.g)
    elif a.type == onnx.AttributeProto.FLOATS:
        out["floats"] = list(a.floats)
    elif a.type == onnx.AttributeProto.INTS:
        out["ints"] = list(a.ints)
    elif a.type == onnx.AttributeProto.STRINGS:
        out["strings"] = [s.decode() for s in a.strings]
    return out


def graph(g):
    return {
        "name": g.name,
        "nodes": [{"name": n.name, "op_type": n.op_type, "domain": n.domain,
                   "inputs": list(n.input), "outputs": list(n.output),
                   "attrs": [attribute(a) for a in n.attribute]} for n in g.node],
        "initializers": [tensor(t) for t in g.initializer],
        "inputs": [value_info(v) for v in g.input],
        "outputs": [value_info(v) for v in g.output],
        "value_info": len(g.value_info),
    }


def describe(path):
    m = onnx.load(path)
    return {
        "ir_version": m.ir_version,
        "producer_name": m.producer_name,
        "producer_version": m.producer_version,
        "model_version": m.model_version,
        "doc_string": m.doc_string,
        "opsets": [{"domain": o.domain, "version": o.version} for o in m.opset_import],
        "metadata": [{"key": p.key, "value": p.value} for p in m.metadata_props],
        "graph": graph(m.graph),
    }


def main():
    exported = [
        export(ConvNet(), (1, 1, 8, 8), "convnet.onnx", 13),
        export(ViewNet(), (1, 2, 3, 3), "viewnet.onnx", 11),
    ]
    for p in exported:
        onnx.checker.check_model(onnx.load(p))
    # helper.onnx is not meant to run (it has a custom-domain op), only to
    # exercise the encodings, so it is not checked.
    paths = exported + [helper_model(os.path.join(HERE, "helper.onnx"))]
    expected = {}
    for p in paths:
        expected[os.path.basename(p)] = describe(p)
        print(p, os.path.getsize(p), "bytes")
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
