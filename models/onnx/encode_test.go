package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// A minimal ModelProto encoder for the tests: it writes the Go values back in
// the wire format, so tests can build models, and hand-made field helpers let
// them build the malformed and hostile ones a writer never produces.

// Field helpers. Each appends one field to b.

func vField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func bField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func sField(b []byte, num protowire.Number, s string) []byte {
	return bField(b, num, []byte(s))
}

func f32Field(b []byte, num protowire.Number, v float32) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

func f64Field(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

// optional scalars and strings are written only when set, as proto3 does.

func optV(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return vField(b, num, v)
}

func optS(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return sField(b, num, s)
}

// encoder writes Go values as protobuf. With unpacked set, repeated numbers
// are written one field per value, as proto2 writers (onnx's own Python
// package among them) do for fields not marked [packed = true].
type encoder struct{ unpacked bool }

func (e encoder) varints(b []byte, num protowire.Number, vs []uint64) []byte {
	if len(vs) == 0 {
		return b
	}
	if e.unpacked {
		for _, v := range vs {
			b = vField(b, num, v)
		}
		return b
	}
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, v)
	}
	return bField(b, num, p)
}

func (e encoder) fixed32s(b []byte, num protowire.Number, vs []float32) []byte {
	if len(vs) == 0 {
		return b
	}
	if e.unpacked {
		for _, v := range vs {
			b = f32Field(b, num, v)
		}
		return b
	}
	var p []byte
	for _, v := range vs {
		p = protowire.AppendFixed32(p, math.Float32bits(v))
	}
	return bField(b, num, p)
}

func (e encoder) fixed64s(b []byte, num protowire.Number, vs []float64) []byte {
	if len(vs) == 0 {
		return b
	}
	if e.unpacked {
		for _, v := range vs {
			b = f64Field(b, num, math.Float64bits(v))
		}
		return b
	}
	var p []byte
	for _, v := range vs {
		p = protowire.AppendFixed64(p, math.Float64bits(v))
	}
	return bField(b, num, p)
}

func u64s[T int32 | int64 | uint64](vs []T) []uint64 {
	out := make([]uint64, len(vs))
	for i, v := range vs {
		out[i] = uint64(int64(v)) // int32 is sign-extended, as protobuf writes it
	}
	return out
}

func (e encoder) model(m *Model) []byte {
	var b []byte
	b = optV(b, 1, uint64(m.IRVersion))
	b = optS(b, 2, m.ProducerName)
	b = optS(b, 3, m.ProducerVersion)
	b = optS(b, 4, m.Domain)
	b = optV(b, 5, uint64(m.ModelVersion))
	b = optS(b, 6, m.DocString)
	if m.Graph != nil {
		b = bField(b, 7, e.graph(m.Graph))
	}
	for _, o := range m.Opsets {
		b = bField(b, 8, opsetBytes(o.Domain, o.Version))
	}
	for _, kv := range m.Metadata {
		b = bField(b, 14, optS(optS(nil, 1, kv.Key), 2, kv.Value))
	}
	return b
}

func opsetBytes(domain string, version int64) []byte {
	return vField(optS(nil, 1, domain), 2, uint64(version))
}

func (e encoder) graph(g *Graph) []byte {
	var b []byte
	for _, n := range g.Nodes {
		b = bField(b, 1, e.node(n))
	}
	b = optS(b, 2, g.Name)
	for _, t := range g.Initializers {
		b = bField(b, 5, e.tensor(t))
	}
	b = optS(b, 10, g.DocString)
	for _, v := range g.Inputs {
		b = bField(b, 11, e.valueInfo(v))
	}
	for _, v := range g.Outputs {
		b = bField(b, 12, e.valueInfo(v))
	}
	for _, v := range g.ValueInfo {
		b = bField(b, 13, e.valueInfo(v))
	}
	return b
}

func (e encoder) node(n *Node) []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = sField(b, 1, s)
	}
	for _, s := range n.Outputs {
		b = sField(b, 2, s)
	}
	b = optS(b, 3, n.Name)
	b = optS(b, 4, n.OpType)
	for _, a := range n.Attrs {
		b = bField(b, 5, e.attribute(a))
	}
	b = optS(b, 6, n.DocString)
	b = optS(b, 7, n.Domain)
	return b
}

func (e encoder) attribute(a *Attribute) []byte {
	var b []byte
	b = optS(b, 1, a.Name)
	if math.Float32bits(a.F) != 0 {
		b = f32Field(b, 2, a.F)
	}
	b = optV(b, 3, uint64(a.I))
	if a.S != nil {
		b = bField(b, 4, a.S)
	}
	if a.T != nil {
		b = bField(b, 5, e.tensor(a.T))
	}
	if a.G != nil {
		b = bField(b, 6, e.graph(a.G))
	}
	b = e.fixed32s(b, 7, a.Floats)
	b = e.varints(b, 8, u64s(a.Ints))
	for _, s := range a.Strings {
		b = bField(b, 9, s)
	}
	for _, t := range a.Tensors {
		b = bField(b, 10, e.tensor(t))
	}
	for _, g := range a.Graphs {
		b = bField(b, 11, e.graph(g))
	}
	b = optV(b, 20, uint64(a.Type))
	b = optS(b, 21, a.RefAttr)
	return b
}

func (e encoder) tensor(t *Tensor) []byte {
	var b []byte
	b = e.varints(b, 1, u64s(t.Dims))
	b = optV(b, 2, uint64(t.DataType))
	b = e.fixed32s(b, 4, t.FloatData)
	b = e.varints(b, 5, u64s(t.Int32Data))
	b = e.varints(b, 7, u64s(t.Int64Data))
	b = optS(b, 8, t.Name)
	if t.RawData != nil {
		b = bField(b, 9, t.RawData)
	}
	b = e.fixed64s(b, 10, t.DoubleData)
	b = e.varints(b, 11, t.Uint64Data)
	b = optS(b, 12, t.DocString)
	if t.External {
		b = vField(b, 14, 1)
	}
	return b
}

func (e encoder) valueInfo(v *ValueInfo) []byte {
	b := optS(nil, 1, v.Name)
	if v.NotTensor {
		return bField(b, 2, bField(nil, 4, nil)) // an empty sequence_type
	}
	tt := optV(nil, 1, uint64(v.ElemType))
	if v.HasShape {
		var shape []byte
		for _, d := range v.Dims {
			var db []byte
			if d.Known {
				db = vField(db, 1, uint64(d.Value))
			} else if d.Param != "" {
				db = sField(db, 2, d.Param)
			}
			shape = bField(shape, 1, db)
		}
		tt = bField(tt, 2, shape)
	}
	return bField(b, 2, bField(nil, 1, tt))
}

// Wrappers that put a hand-made message where it belongs in an otherwise
// valid model (opset 13).

func modelWithGraph(graph []byte) []byte {
	b := vField(nil, 1, 8)
	b = bField(b, 7, graph)
	return bField(b, 8, opsetBytes("", 13))
}

func modelWithTensor(tensor []byte) []byte {
	return modelWithGraph(bField(nil, 5, tensor))
}

func modelWithNode(node []byte) []byte {
	return modelWithGraph(bField(nil, 1, node))
}

func modelWithAttr(attr []byte) []byte {
	n := sField(nil, 3, "n0")
	n = sField(n, 4, "Op")
	return modelWithNode(bField(n, 5, attr))
}
