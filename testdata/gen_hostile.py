#!/usr/bin/python3
"""Crafted bad inputs for the hostile-input tests (cmd/advcheck/hostile_test.go).

Regenerate from the repository root:

    /usr/bin/python3 testdata/gen_hostile.py

- nan_weights.onnx     the mlp test model with a NaN in a weight
- huge_dims.onnx       an initializer declaring 10^12 elements, holding 4 bytes
- deep_nesting.onnx    If nodes nested 40 graphs deep
- script_names.onnx    the mlp test model with node, value and graph names that hold markup
- external_data.onnx   an initializer stored in an external file
- zipbomb.npz          x.npy declares 50M float32 values of zeros, deflated to ~50 KB
- control_names.onnx   the mlp test model with graph, node, input and output names and a
                       producer string that hold terminal escapes, a bell, a carriage
                       return and a bidi override
- control_op.onnx      a node whose op type holds terminal escapes (an unsupported op)
"""
import io
import zipfile

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = "testdata/hostile/"

m = onnx.load("testdata/models/mlp.onnx")
w = m.graph.initializer[0]
arr = numpy_helper.to_array(w).copy()
arr.flat[3] = np.nan
m.graph.initializer[0].CopyFrom(numpy_helper.from_array(arr, w.name))
onnx.save(m, out + "nan_weights.onnx")

m = onnx.load("testdata/models/mlp.onnx")
for n in m.graph.node:
    n.name = '<script>alert("%s")</script>' % n.op_type
m.graph.name = "<img src=x onerror=alert(1)>"
onnx.save(m, out + "script_names.onnx")

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
huge = TensorProto()
huge.name = "w"
huge.data_type = TensorProto.FLOAT
huge.dims.extend([1000000, 1000000])
huge.raw_data = b"\0\0\0\0"
g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "huge", [x], [y], [huge])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), out + "huge_dims.onnx")

def nested(depth):
    c = helper.make_tensor_value_info("c%d" % depth, TensorProto.FLOAT, [1])
    if depth == 0:
        node = helper.make_node("Constant", [], ["c0"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))
        return helper.make_graph([node], "g0", [], [c])
    sub = nested(depth - 1)
    cond = helper.make_node("Constant", [], ["b%d" % depth], value=helper.make_tensor("t", TensorProto.BOOL, [], [True]))
    node = helper.make_node("If", ["b%d" % depth], ["c%d" % depth], then_branch=sub, else_branch=LEAF)
    return helper.make_graph([cond, node], "g%d" % depth, [], [c])

LEAF = nested(0)
inner = nested(40)
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])] + list(inner.node), "deep", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), out + "deep_nesting.onnx")

ext = helper.make_tensor("w", TensorProto.FLOAT, [4], [1, 2, 3, 4])
ext.ClearField("float_data")
ext.data_location = TensorProto.EXTERNAL
e = ext.external_data.add()
e.key, e.value = "location", "weights.bin"
g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "ext", [x], [y], [ext])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), out + "external_data.onnx")

buf = io.BytesIO()
np.lib.format.write_array(buf, np.zeros((50_000_000,), dtype=np.float32).reshape(50_000, 1, 1000))
ybuf = io.BytesIO()
np.lib.format.write_array(ybuf, np.zeros((50_000,), dtype=np.int64))
with zipfile.ZipFile(out + "zipbomb.npz", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.writestr(zipfile.ZipInfo("x.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    z.writestr(zipfile.ZipInfo("y.npy", date_time=(1980, 1, 1, 0, 0, 0)), ybuf.getvalue(), compress_type=zipfile.ZIP_DEFLATED)

# Terminal escape sequences (colour, clear screen, window title), a bell, a
# carriage return and a right-to-left override in every name a renderer shows.
ESC = "\x1b[31m"
m = onnx.load("testdata/models/mlp.onnx")
rename = {"input": "in" + ESC + "put\x07", "logits": "lo\rgits\u202e"}
for v in list(m.graph.input) + list(m.graph.output):
    v.name = rename.get(v.name, v.name)
for n in m.graph.node:
    n.name = ESC + n.name + "\x1b[0m\u202e"
    n.input[:] = [rename.get(i, i) for i in n.input]
    n.output[:] = [rename.get(o, o) for o in n.output]
m.graph.name = "\x1b]0;pwned\x07graph"
m.producer_name = "py\x1b[2Jtorch\u202e"
m.producer_version = "\r1.13\x9b"
onnx.save(m, out + "control_names.onnx")

g = helper.make_graph([helper.make_node("\x1b[2J\x1b[31mEvil\x07", ["x"], ["y"])], "ctl", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), out + "control_op.onnx")
