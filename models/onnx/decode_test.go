package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// richModel exercises every field the decoder keeps: all attribute types, a
// subgraph two levels deep, tensors in every storage, shapes with values,
// params and unknown dims, empty optional inputs.
func richModel() *Model {
	inner := &Graph{
		Name:    "inner",
		Nodes:   []*Node{{Inputs: []string{"a"}, Outputs: []string{"b"}, OpType: "Neg", Name: "neg"}},
		Outputs: []*ValueInfo{{Name: "b", ElemType: Float}},
	}
	branch := &Graph{
		Name: "branch",
		Nodes: []*Node{{Inputs: []string{"c"}, Outputs: []string{"d"}, OpType: "If", Name: "nested_if",
			Attrs: []*Attribute{{Name: "then_branch", Type: AttrGraph, G: inner}}}},
		Initializers: []*Tensor{{Name: "k", DataType: Int64, Int64Data: []int64{3}}},
	}
	return &Model{
		IRVersion:       8,
		Opsets:          []OpsetImport{{Domain: "", Version: 13}, {Domain: "com.example", Version: 2}},
		ProducerName:    "advcheck-test",
		ProducerVersion: "0.1",
		Domain:          "org.example",
		ModelVersion:    3,
		DocString:       "a model with everything",
		Metadata:        []StringString{{Key: "k", Value: "v"}, {Key: "empty"}},
		Graph: &Graph{
			Name:      "main",
			DocString: "main graph",
			Nodes: []*Node{
				{Inputs: []string{"x", "", "w"}, Outputs: []string{"y"}, Name: "conv1", OpType: "Conv", DocString: "doc",
					Attrs: []*Attribute{
						{Name: "pads", Type: AttrInts, Ints: []int64{0, -1, 1 << 40, math.MinInt64}},
						{Name: "alpha", Type: AttrFloat, F: -0.25},
						{Name: "axis", Type: AttrInt, I: -3},
						{Name: "mode", Type: AttrString, S: []byte("reflect")},
						{Name: "scales", Type: AttrFloats, Floats: []float32{1.5, float32(math.Inf(-1)), 1e-40}},
						{Name: "labels", Type: AttrStrings, Strings: [][]byte{[]byte("cat"), {}, []byte("dog")}},
						{Name: "value", Type: AttrTensor, T: &Tensor{Name: "c", DataType: Float, Dims: []int64{2}, FloatData: []float32{1, 2}}},
						{Name: "ts", Type: AttrTensors, Tensors: []*Tensor{{DataType: Double, DoubleData: []float64{math.Pi}}, {DataType: Uint64, Dims: []int64{1}, Uint64Data: []uint64{math.MaxUint64}}}},
						{Name: "else_branch", Type: AttrGraph, G: branch},
						{Name: "bodies", Type: AttrGraphs, Graphs: []*Graph{inner, {Name: "empty"}}},
						{Name: "ref", RefAttr: "outer"},
					}},
				{Inputs: []string{"y"}, Outputs: []string{"z", ""}, OpType: "Custom", Domain: "com.example"},
			},
			Initializers: []*Tensor{
				{Name: "w", DataType: Float, Dims: []int64{2, 3}, RawData: []byte{0: 1, 23: 2}, DocString: "raw"},
				{Name: "i8", DataType: Int8, Dims: []int64{3}, Int32Data: []int32{-128, 0, 127}},
				{Name: "ext", DataType: Float, Dims: []int64{10}, External: true},
				{Name: "empty", DataType: Float, Dims: []int64{0, 5}, RawData: []byte{}},
			},
			Inputs: []*ValueInfo{
				{Name: "x", ElemType: Float, HasShape: true, Dims: []Dim{{Param: "N"}, {Value: 3, Known: true}, {}, {Value: 0, Known: true}}},
				{Name: "seq", NotTensor: true},
			},
			Outputs:   []*ValueInfo{{Name: "z", ElemType: Float, HasShape: true}},
			ValueInfo: []*ValueInfo{{Name: "y"}},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, e := range []encoder{{unpacked: false}, {unpacked: true}} {
		t.Run(fmt.Sprintf("unpacked=%v", e.unpacked), func(t *testing.T) {
			want := richModel()
			got, err := Decode(e.model(want), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded model differs\n got %s\nwant %s", dump(got), dump(want))
			}
		})
	}
}

func dump(m *Model) string {
	var b strings.Builder
	var graph func(g *Graph, indent string)
	graph = func(g *Graph, indent string) {
		fmt.Fprintf(&b, "%sgraph %+v\n", indent, *g)
		for _, n := range g.Nodes {
			fmt.Fprintf(&b, "%s node %+v\n", indent, *n)
			for _, a := range n.Attrs {
				fmt.Fprintf(&b, "%s  attr %+v\n", indent, *a)
				if a.G != nil {
					graph(a.G, indent+"   ")
				}
			}
		}
		for _, t := range g.Initializers {
			fmt.Fprintf(&b, "%s init %+v\n", indent, *t)
		}
		for _, v := range append(append(g.Inputs, g.Outputs...), g.ValueInfo...) {
			fmt.Fprintf(&b, "%s vi %+v\n", indent, *v)
		}
	}
	fmt.Fprintf(&b, "model %+v\n", *m)
	graph(m.Graph, "")
	return b.String()
}

// TestPackedAndUnpacked decodes the same tensor and attribute written both
// ways, and mixed: a packed field followed by single values appends.
func TestPackedAndUnpacked(t *testing.T) {
	tensor := &Tensor{Name: "t", DataType: Int64, Dims: []int64{2, 3}, Int64Data: []int64{1, -2, 3, 1 << 50, 0, -1}}
	for _, e := range []encoder{{false}, {true}} {
		m, err := Decode(modelWithTensor(e.tensor(tensor)), DefaultLimits())
		if err != nil {
			t.Fatalf("unpacked=%v: %v", e.unpacked, err)
		}
		if got := m.Graph.Initializers[0]; !reflect.DeepEqual(got, tensor) {
			t.Errorf("unpacked=%v: got %+v, want %+v", e.unpacked, got, tensor)
		}
	}
	// dims [2] packed then [3] unpacked; float_data 1 value unpacked then 5 packed.
	var b []byte
	b = bField(b, 1, protowire.AppendVarint(nil, 2))
	b = vField(b, 1, 3)
	b = vField(b, 2, uint64(Float))
	b = f32Field(b, 4, 0.5)
	b = encoder{}.fixed32s(b, 4, []float32{1, 2, 3, 4, 5})
	m, err := Decode(modelWithTensor(b), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	got := m.Graph.Initializers[0]
	if fmt.Sprint(got.Dims, got.FloatData) != "[2 3] [0.5 1 2 3 4 5]" {
		t.Errorf("mixed encoding: dims %v data %v", got.Dims, got.FloatData)
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := encoder{}.model(richModel())
	hugeDims := encoder{}.tensor(&Tensor{Name: "huge", DataType: Float, Dims: []int64{1000000, 1000000}})
	overflowDims := encoder{}.tensor(&Tensor{Name: "ovf", DataType: Float, Dims: []int64{1 << 40, 1 << 40, 1 << 40, 0}})
	tight := Limits{MaxTensorElements: 10, MaxTotalElements: 15, MaxNodes: 2, MaxDepth: 2, MaxDims: 3, MaxItems: 40}

	deep := func(levels int) []byte { // an If whose then_branch holds an If, levels deep
		g := &Graph{Name: "leaf"}
		for range levels - 1 {
			g = &Graph{Nodes: []*Node{{OpType: "If", Attrs: []*Attribute{{Name: "then_branch", Type: AttrGraph, G: g}}}}}
		}
		return encoder{}.model(&Model{Opsets: []OpsetImport{{Version: 13}}, Graph: g})
	}
	withOpsets := func(opsets ...OpsetImport) []byte {
		return encoder{}.model(&Model{Opsets: opsets, Graph: &Graph{}})
	}
	nodes := func(n int) []byte {
		g := &Graph{}
		for i := range n {
			g.Nodes = append(g.Nodes, &Node{Name: fmt.Sprint("n", i), OpType: "Relu"})
		}
		return encoder{}.model(&Model{Opsets: []OpsetImport{{Version: 13}}, Graph: g})
	}

	tests := []struct {
		name string
		data []byte
		lim  Limits
		kind error
		msg  string // the whole message, or a part of it
	}{
		{"empty input", nil, Limits{}, ErrMalformed, "onnx: the model has no graph"},
		{"not protobuf", []byte("hello, world"), Limits{}, ErrMalformed, "onnx: field 13 (group end): mismatching end group marker"},
		{"truncated varint", []byte{0x08, 0x80}, Limits{}, ErrMalformed, "onnx: field 1 (varint): unexpected EOF"},
		{"varint overflow", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 11)...), Limits{}, ErrMalformed, "variable length integer overflow"},
		{"field number 0", []byte{0x00, 0x01}, Limits{}, ErrMalformed, "onnx: bad field tag: invalid field number"},
		{"length past the end", []byte{0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, Limits{}, ErrMalformed, "onnx: field 7 (length-delimited): unexpected EOF"},
		{"end group alone", append([]byte{0x0c}, valid...), Limits{}, ErrMalformed, "mismatching end group"},
		{"graph as varint", vField(nil, 7, 1), Limits{}, ErrMalformed, "onnx: field graph (7) is varint, want length-delimited"},
		{"ir_version as bytes", append(sField(nil, 1, "8"), valid...), Limits{}, ErrMalformed, "field ir_version (1) is length-delimited, want varint"},
		{"two graphs", bField(valid, 7, nil), Limits{}, ErrMalformed, "more than one graph"},
		{"attribute f as varint", modelWithAttr(vField(sField(nil, 1, "alpha"), 2, 1)), Limits{}, ErrMalformed,
			`onnx: graph.node[0] "n0" attribute "alpha": field f (2) is varint, want fixed32`},
		{"packed ints truncated", modelWithAttr(bField(sField(nil, 1, "pads"), 8, []byte{1, 2, 0x80})), Limits{}, ErrMalformed,
			`onnx: graph.node[0] "n0" attribute "pads": malformed packed ints: unexpected EOF`},
		{"packed ints as fixed64", modelWithAttr(f64Field(sField(nil, 1, "pads"), 8, 1)), Limits{}, ErrMalformed,
			`attribute "pads": field ints (8) is fixed64, want varint or packed`},
		{"packed floats ragged", modelWithAttr(bField(sField(nil, 1, "scales"), 7, make([]byte, 7))), Limits{}, ErrMalformed,
			`attribute "scales": malformed packed floats: 7 bytes is not a multiple of 4`},
		{"nameless attribute", modelWithAttr(bField(nil, 7, make([]byte, 5))), Limits{}, ErrMalformed,
			`onnx: graph.node[0] "n0" attribute[0]: malformed packed floats`},
		{"packed float_data ragged", modelWithTensor(bField(sField(nil, 8, "w"), 4, make([]byte, 6))), Limits{}, ErrMalformed,
			`onnx: graph.initializer[0] "w": malformed packed float_data: 6 bytes is not a multiple of 4`},
		{"packed double_data ragged", modelWithTensor(bField(nil, 10, make([]byte, 12))), Limits{}, ErrMalformed,
			`onnx: graph.initializer[0]: malformed packed double_data: 12 bytes is not a multiple of 8`},
		{"packed int64_data overflow", modelWithTensor(bField(nil, 7, append(bytes.Repeat([]byte{0xff}, 11), 1))), Limits{}, ErrMalformed,
			"malformed packed int64_data: variable length integer overflow"},
		{"name after the error", modelWithTensor(sField(bField(nil, 4, make([]byte, 3)), 8, "late")), Limits{}, ErrMalformed,
			`graph.initializer[0] "late": malformed packed float_data`},
		{"negative dim", modelWithTensor(encoder{}.tensor(&Tensor{Name: "neg", Dims: []int64{2, -1}})), Limits{}, ErrMalformed,
			`onnx: graph.initializer[0] "neg": dims[1] is -1`},
		{"10^12 elements", modelWithTensor(hugeDims), Limits{}, ErrLimit,
			`onnx: graph.initializer[0] "huge": dims [1000000 1000000] make 1e+12 elements, over the limit of 268435456 per tensor`},
		{"dims overflow int64 before a zero", modelWithTensor(overflowDims), Limits{MaxDims: 4}, nil, ""},
		{"dims overflow int64", modelWithTensor(encoder{}.tensor(&Tensor{Dims: []int64{1 << 40, 1 << 40, 1 << 40}})), Limits{}, ErrLimit, "make 1.329e+36 elements"},
		{"rank", modelWithTensor(encoder{unpacked: true}.tensor(&Tensor{Name: "r", Dims: []int64{1, 1, 1, 1}})), tight, ErrLimit, `"r": more than 3 dims, the limit`},
		{"packed rank", modelWithTensor(bField(nil, 1, []byte{1, 1, 1, 1})), tight, ErrLimit, "4 dims, over the limit of 3"},
		{"shape rank", encoder{}.model(&Model{Opsets: []OpsetImport{{Version: 13}}, Graph: &Graph{Inputs: []*ValueInfo{{Name: "x", HasShape: true, Dims: make([]Dim, 4)}}}}),
			tight, ErrLimit, `onnx: graph.input[0] "x" type.tensor_type.shape: more than 3 dims, the limit`},
		{"stored values", modelWithTensor(encoder{}.tensor(&Tensor{Dims: []int64{2}, Int64Data: make([]int64, 11)})), tight, ErrLimit, "11 stored values, over the limit of 10"},
		{"total elements", encoder{}.model(&Model{Opsets: []OpsetImport{{Version: 13}}, Graph: &Graph{Initializers: []*Tensor{{Dims: []int64{10}}, {Dims: []int64{6}}}}}),
			tight, ErrLimit, `graph.initializer[1]: more than 15 tensor elements in the model`},
		{"attribute ints", modelWithAttr(encoder{}.attribute(&Attribute{Name: "big", Ints: make([]int64, 11)})), tight, ErrLimit, `attribute "big": 11 values, over the limit of 10 per tensor`},
		{"unpacked attribute ints", modelWithAttr(encoder{unpacked: true}.attribute(&Attribute{Name: "big", Ints: make([]int64, 11)})), tight, ErrLimit, "11 values, over the limit of 10 per tensor"},
		{"attribute strings", modelWithAttr(encoder{}.attribute(&Attribute{Name: "s", Strings: make([][]byte, 11)})), tight, ErrLimit, "11 values"},
		{"nodes", nodes(3), tight, ErrLimit, "onnx: graph.node[2]: more than 2 nodes"},
		{"default node limit", nodes(100001), Limits{}, ErrLimit, "more than 100000 nodes"},
		{"items", encoder{}.model(&Model{Opsets: []OpsetImport{{Version: 13}}, Graph: &Graph{Nodes: []*Node{{Inputs: make([]string, 50)}}}}), tight, ErrLimit, "more than 40 items"},
		{"depth", deep(3), tight, ErrLimit, `attribute "then_branch" g: graphs nested more than 2 levels deep`},
		{"default depth", deep(9), Limits{}, ErrLimit, "graphs nested more than 8 levels deep"},
		{"depth at the limit", deep(8), Limits{}, nil, ""},
		{"bytes", valid, Limits{MaxBytes: int64(len(valid) - 1)}, ErrLimit, fmt.Sprintf("onnx: the model is %d bytes, over the limit of %d", len(valid), len(valid)-1)},
		{"opset too old", withOpsets(OpsetImport{Version: 6}), Limits{}, ErrUnsupported, "onnx: default operator set version 6; advcheck reads versions 7 to 21"},
		{"opset too new", withOpsets(OpsetImport{Domain: "ai.onnx", Version: 22}), Limits{}, ErrUnsupported, "version 22"},
		{"opset in a custom range", withOpsets(OpsetImport{Version: 22}), Limits{MaxOpset: 22}, nil, ""},
		{"no default opset", withOpsets(OpsetImport{Domain: "ai.onnx.ml", Version: 3}), Limits{}, ErrUnsupported, "does not import the default operator set"},
		{"two default opsets", withOpsets(OpsetImport{Version: 13}, OpsetImport{Domain: "ai.onnx", Version: 11}), Limits{}, ErrMalformed,
			"onnx: opset_import[1]: the default operator set is imported twice, as versions 13 and 11"},
		{"same default opset twice", withOpsets(OpsetImport{Version: 13}, OpsetImport{Domain: "ai.onnx", Version: 13}), Limits{}, nil, ""},
		{"sparse initializer", modelWithGraph(bField(nil, 15, nil)), Limits{}, ErrUnsupported, "onnx: graph.sparse_initializer[0]: sparse initializers are not supported"},
		{"segment", modelWithTensor(bField(sField(nil, 8, "s"), 3, nil)), Limits{}, ErrUnsupported, "split into segments"},
		{"two tensors in t", modelWithAttr(bField(bField(sField(nil, 1, "value"), 5, nil), 5, nil)), Limits{}, ErrMalformed, "more than one tensor"},
		{"bad subgraph", modelWithAttr(bField(sField(nil, 1, "body"), 6, bField(nil, 1, []byte{0x0a, 0x05}))), Limits{}, ErrMalformed,
			`onnx: graph.node[0] "n0" attribute "body" g.node[0]: field 1 (length-delimited): unexpected EOF`},
		{"unknown fields and groups are skipped", skipMe(valid), Limits{}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.data, tc.lim)
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if err := validate(m, tc.lim.orDefault()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tc.kind)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("error %q does not wrap %q", err, tc.kind)
			}
			if m != nil {
				t.Errorf("a model came back with the error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q\nwant it to contain %q", msg, tc.msg)
			}
			if !strings.HasPrefix(msg, "onnx: ") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q is not a single line starting with onnx:", msg)
			}
		})
	}
}

// skipMe returns a model with unknown fields of every wire type, a group with
// nested groups among them, inserted at the model, graph and node levels.
func skipMe(valid []byte) []byte {
	var junk []byte
	junk = vField(junk, 1000, 12345)
	junk = f32Field(junk, 1001, 1.5)
	junk = f64Field(junk, 1002, 7)
	junk = bField(junk, 1003, []byte("unknown"))
	junk = protowire.AppendTag(junk, 1004, protowire.StartGroupType)
	junk = vField(junk, 1, 1)
	junk = protowire.AppendTag(junk, 5, protowire.StartGroupType)
	junk = protowire.AppendTag(junk, 5, protowire.EndGroupType)
	junk = protowire.AppendTag(junk, 1004, protowire.EndGroupType)

	node := append(encoder{}.node(&Node{Name: "n", OpType: "Relu", Inputs: []string{"x"}}), junk...)
	graph := append(bField(junk, 1, node), junk...)
	return append(append(junk, modelWithGraph(graph)...), junk...)
}

// TestTruncated decodes every prefix of the testdata files. The files end
// with their only opset import, so no prefix is a valid model: each must fail,
// and none may panic.
func TestTruncated(t *testing.T) {
	for _, name := range []string{"convnet.onnx", "viewnet.onnx", "helper.onnx"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for i := range len(data) {
			m, err := Decode(data[:i], DefaultLimits())
			if err == nil {
				ok++
				if err := validate(m, DefaultLimits()); err != nil {
					t.Fatalf("%s[:%d]: %v", name, i, err)
				}
				continue
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%s[:%d]: %v is neither malformed nor unsupported", name, i, err)
			}
		}
		// helper.onnx ends with a second opset import (com.example) and two
		// metadata entries: the three prefixes that drop whole entries of
		// these are complete models.
		if want := map[string]int{"helper.onnx": 3}[name]; ok != want {
			t.Errorf("%s: %d prefixes decoded, want %d", name, ok, want)
		}
	}
}

// TestBitFlips flips every bit of two testdata files: decoding must not
// panic, and what decodes must respect the limits.
func TestBitFlips(t *testing.T) {
	lim := Limits{MaxTensorElements: 1000, MaxTotalElements: 2000, MaxNodes: 20, MaxDepth: 3, MaxItems: 1000}
	for _, name := range []string{"convnet.onnx", "helper.onnx"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		decoded := 0
		for i := range len(data) * 8 {
			flipped := bytes.Clone(data)
			flipped[i/8] ^= 1 << (i % 8)
			m, err := Decode(flipped, lim)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("%s bit %d: %v wraps no sentinel", name, i, err)
				}
				continue
			}
			decoded++
			if err := validate(m, lim.orDefault()); err != nil {
				t.Fatalf("%s bit %d: %v", name, i, err)
			}
		}
		t.Logf("%s: %d of %d flips still decode", name, decoded, len(data)*8)
	}
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileSizesDoNotAllocate: small inputs that declare huge sizes fail
// before the memory they ask for is allocated.
func TestHostileSizesDoNotAllocate(t *testing.T) {
	// A 100 GB float tensor (25e9 elements) in a 1 KB file.
	huge := encoder{}.tensor(&Tensor{Name: "huge", DataType: Float, Dims: []int64{100000, 250000}, DocString: strings.Repeat("x", 900)})
	// float_data declaring 100 GB of packed values, with 1 KB present.
	longFloats := protowire.AppendTag(nil, 4, protowire.BytesType)
	longFloats = protowire.AppendVarint(longFloats, 100e9)
	longFloats = append(longFloats, make([]byte, 1000)...)
	// 1 MB of packed int64 values (one byte each) against a limit of 1000.
	manyInts := bField(nil, 7, bytes.Repeat([]byte{1}, 1<<20))

	tests := []struct {
		name string
		data []byte
		lim  Limits
		kind error
		max  uint64 // bytes the failed Decode may allocate
	}{
		{"100 GB dims", modelWithTensor(huge), Limits{}, ErrLimit, 4 << 10},
		{"100 GB packed length", modelWithTensor(longFloats), Limits{}, ErrMalformed, 4 << 10},
		{"1M packed values", modelWithTensor(manyInts), Limits{MaxTensorElements: 1000}, ErrLimit, 4 << 10},
		{"1M packed attribute ints", modelWithAttr(bField(sField(nil, 1, "pads"), 8, bytes.Repeat([]byte{1}, 1<<20))), Limits{MaxTensorElements: 1000}, ErrLimit, 4 << 10},
		{"100 GB in an attribute tensor", modelWithAttr(bField(sField(nil, 1, "value"), 5, huge)), Limits{}, ErrLimit, 4 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = Decode(tc.data, tc.lim) })
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			if n > tc.max {
				t.Errorf("%d-byte input: Decode allocated %d bytes before failing, want at most %d", len(tc.data), n, tc.max)
			}
			allocs := testing.AllocsPerRun(5, func() { _, _ = Decode(tc.data, tc.lim) })
			if allocs > 60 {
				t.Errorf("%v allocations", allocs)
			}
			t.Logf("%d-byte input: %d bytes, %v allocations", len(tc.data), n, allocs)
		})
	}
	if len(modelWithTensor(huge)) > 1024 {
		t.Errorf("the 100 GB model is %d bytes, want at most 1 KB", len(modelWithTensor(huge)))
	}
}

// TestDecodeAllocatesExactly: a valid tensor of n floats costs about 4n bytes.
func TestDecodeAllocatesExactly(t *testing.T) {
	const n = 1 << 16
	vals := make([]float32, n)
	for _, e := range []encoder{{false}, {true}} {
		data := modelWithTensor(e.tensor(&Tensor{DataType: Float, Dims: []int64{n}, FloatData: vals}))
		var err error
		got := allocated(func() { _, err = Decode(data, DefaultLimits()) })
		if err != nil {
			t.Fatal(err)
		}
		if got > 4*n+4<<10 {
			t.Errorf("unpacked=%v: %d bytes allocated for %d floats", e.unpacked, got, n)
		}
	}
}

func TestExternalData(t *testing.T) {
	loc := encoder{}.tensor(&Tensor{Name: "w", DataType: Float, Dims: []int64{4}})
	loc = vField(loc, 14, 1)
	entry := bField(sField(nil, 1, "location"), 2, []byte("weights.bin"))
	for name, tb := range map[string][]byte{
		"data_location": loc,
		"external_data": bField(encoder{}.tensor(&Tensor{Name: "w", DataType: Float, Dims: []int64{4}}), 13, entry),
	} {
		t.Run(name, func(t *testing.T) {
			m, err := Decode(modelWithTensor(tb), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			w := m.Graph.Initializers[0]
			if !w.External {
				t.Fatal("External not set")
			}
			if n, err := w.NumElements(); n != 4 || err != nil {
				t.Errorf("NumElements = %d, %v", n, err)
			}
			_, err1 := w.Float64s()
			_, err2 := w.Float32s()
			_, err3 := w.Int64s()
			for _, err := range []error{err1, err2} {
				if !errors.Is(err, ErrUnsupported) || err.Error() != `onnx: tensor "w" stores its data in an external file, which advcheck does not read` {
					t.Errorf("got %v", err)
				}
			}
			if !errors.Is(err3, ErrUnsupported) {
				t.Errorf("Int64s: %v", err3)
			}
		})
	}
}

func TestRead(t *testing.T) {
	data := encoder{}.model(richModel())
	lim := Limits{MaxBytes: int64(len(data))}
	if _, err := Read(bytes.NewReader(data), lim); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	// One byte over: refused before decoding (the extra byte would not even parse).
	r := &countingReader{r: io.MultiReader(bytes.NewReader(data), bytes.NewReader(make([]byte, 1<<20)))}
	lim.MaxBytes--
	_, err := Read(r, lim)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("over the limit: %v", err)
	}
	if r.n != int64(len(data)) {
		t.Errorf("read %d bytes, want MaxBytes+1 = %d", r.n, len(data))
	}
	if _, err := Read(iotestErr{}, Limits{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read error: %v", err)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestLimits(t *testing.T) {
	def := DefaultLimits()
	want := Limits{MaxBytes: 512 << 20, MaxTensorElements: 1 << 28, MaxTotalElements: 1 << 29, MaxNodes: 100000,
		MaxDepth: 8, MinOpset: 7, MaxOpset: 21, MaxDims: 8, MaxItems: 1 << 22}
	if def != want {
		t.Errorf("DefaultLimits() = %+v, want %+v", def, want)
	}
	if got := (Limits{}).orDefault(); got != def {
		t.Errorf("Limits{} means %+v, want the defaults", got)
	}
	if got := (Limits{MaxDepth: 1 << 30, MaxNodes: -1}).orDefault(); got.MaxDepth != maxDepthCap || got.MaxNodes != def.MaxNodes {
		t.Errorf("got %+v", got)
	}
}

func TestHelpers(t *testing.T) {
	m := &Model{Opsets: []OpsetImport{{Domain: "ai.onnx", Version: 17}, {Domain: "ai.onnx.ml", Version: 3}}}
	for _, tc := range []struct {
		domain string
		v      int64
		ok     bool
	}{{"", 17, true}, {"ai.onnx", 17, true}, {"ai.onnx.ml", 3, true}, {"com.example", 0, false}} {
		if v, ok := m.OpsetVersion(tc.domain); v != tc.v || ok != tc.ok {
			t.Errorf("OpsetVersion(%q) = %d, %v, want %d, %v", tc.domain, v, ok, tc.v, tc.ok)
		}
	}
	if _, ok := (*Model)(nil).OpsetVersion(""); ok {
		t.Error("nil model has an opset")
	}
	n := &Node{Attrs: []*Attribute{{Name: "a", I: 1}, {Name: "b", I: 2}, {Name: "a", I: 3}}}
	if a := n.Attr("a"); a == nil || a.I != 1 {
		t.Errorf("Attr(a) = %+v, want the first", a)
	}
	if n.Attr("c") != nil || (*Node)(nil).Attr("a") != nil {
		t.Error("Attr of a missing name is not nil")
	}
	if Float.String() != "FLOAT" || Int2.String() != "INT2" || DataType(99).String() != "DataType(99)" ||
		AttrInts.String() != "INTS" || AttrTypeProtos.String() != "TYPE_PROTOS" || AttrType(-1).String() != "AttrType(-1)" {
		t.Error("String methods")
	}
}

// validate checks that a decoded model respects lim, and that the accessors
// of its tensors neither panic nor return more values than the tensor holds.
func validate(m *Model, lim Limits) error {
	if m == nil || m.Graph == nil {
		return errors.New("no model or no graph")
	}
	if v, ok := m.OpsetVersion(""); !ok || v < lim.MinOpset || v > lim.MaxOpset {
		return fmt.Errorf("default opset %d, %v outside [%d, %d]", v, ok, lim.MinOpset, lim.MaxOpset)
	}
	var nodes int
	var total int64
	var tensor func(t *Tensor) error
	var graph func(g *Graph, depth int) error
	tensor = func(t *Tensor) error {
		if len(t.Dims) > lim.MaxDims {
			return fmt.Errorf("tensor %q has rank %d", t.Name, len(t.Dims))
		}
		n, err := t.NumElements()
		if err != nil {
			return fmt.Errorf("tensor %q: %v", t.Name, err)
		}
		stored := int64(len(t.FloatData) + len(t.Int32Data) + len(t.Int64Data) + len(t.DoubleData) + len(t.Uint64Data))
		if n > lim.MaxTensorElements || stored > lim.MaxTensorElements {
			return fmt.Errorf("tensor %q: %d elements, %d stored", t.Name, n, stored)
		}
		total += max(n, stored)
		for _, get := range []func() (int, error){
			func() (int, error) { v, err := t.Float64s(); return len(v), err },
			func() (int, error) { v, err := t.Float32s(); return len(v), err },
			func() (int, error) { v, err := t.Int64s(); return len(v), err },
		} {
			k, err := get()
			if err == nil && int64(k) != n {
				return fmt.Errorf("tensor %q: %d values for %d elements", t.Name, k, n)
			}
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				return fmt.Errorf("tensor %q: %v", t.Name, err)
			}
		}
		return nil
	}
	graph = func(g *Graph, depth int) error {
		if depth > lim.MaxDepth {
			return fmt.Errorf("graph %q at depth %d", g.Name, depth)
		}
		for _, t := range g.Initializers {
			if err := tensor(t); err != nil {
				return err
			}
		}
		for _, vs := range [][]*ValueInfo{g.Inputs, g.Outputs, g.ValueInfo} {
			for _, v := range vs {
				if len(v.Dims) > lim.MaxDims {
					return fmt.Errorf("value %q has rank %d", v.Name, len(v.Dims))
				}
			}
		}
		for _, n := range g.Nodes {
			nodes++
			for _, a := range n.Attrs {
				k := int64(len(a.Ints) + len(a.Floats) + len(a.Strings))
				if k > lim.MaxTensorElements {
					return fmt.Errorf("attribute %q holds %d values", a.Name, k)
				}
				total += k
				if a.T != nil {
					if err := tensor(a.T); err != nil {
						return err
					}
				}
				for _, t := range a.Tensors {
					if err := tensor(t); err != nil {
						return err
					}
				}
				for _, sub := range append([]*Graph{a.G}, a.Graphs...) {
					if sub == nil {
						continue
					}
					if err := graph(sub, depth+1); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := graph(m.Graph, 1); err != nil {
		return err
	}
	if nodes > lim.MaxNodes {
		return fmt.Errorf("%d nodes", nodes)
	}
	if total > lim.MaxTotalElements {
		return fmt.Errorf("%d elements in all", total)
	}
	return nil
}
