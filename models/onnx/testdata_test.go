package onnx

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The files in testdata were written by PyTorch and onnx.helper (see
// testdata/gen.py); expected.json holds what the onnx Python package reads
// from them.

type jsonModel struct {
	IRVersion       int64  `json:"ir_version"`
	ProducerName    string `json:"producer_name"`
	ProducerVersion string `json:"producer_version"`
	ModelVersion    int64  `json:"model_version"`
	DocString       string `json:"doc_string"`
	Opsets          []struct {
		Domain  string `json:"domain"`
		Version int64  `json:"version"`
	} `json:"opsets"`
	Metadata []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"metadata"`
	Graph jsonGraph `json:"graph"`
}

type jsonGraph struct {
	Name         string          `json:"name"`
	Nodes        []jsonNode      `json:"nodes"`
	Initializers []jsonTensor    `json:"initializers"`
	Inputs       []jsonValueInfo `json:"inputs"`
	Outputs      []jsonValueInfo `json:"outputs"`
	ValueInfo    int             `json:"value_info"`
}

type jsonNode struct {
	Name    string     `json:"name"`
	OpType  string     `json:"op_type"`
	Domain  string     `json:"domain"`
	Inputs  []string   `json:"inputs"`
	Outputs []string   `json:"outputs"`
	Attrs   []jsonAttr `json:"attrs"`
}

type jsonAttr struct {
	Name    string      `json:"name"`
	Type    AttrType    `json:"type"`
	F       *float64    `json:"f"`
	I       *int64      `json:"i"`
	S       *string     `json:"s"`
	T       *jsonTensor `json:"t"`
	G       *jsonGraph  `json:"g"`
	Floats  []float64   `json:"floats"`
	Ints    []int64     `json:"ints"`
	Strings []string    `json:"strings"`
}

type jsonTensor struct {
	Name     string    `json:"name"`
	DataType DataType  `json:"data_type"`
	Dims     []int64   `json:"dims"`
	Storage  string    `json:"storage"` // raw_data or typed
	Count    int64     `json:"count"`
	First    []float64 `json:"first"` // the first values, flattened
}

type jsonValueInfo struct {
	Name     string   `json:"name"`
	ElemType DataType `json:"elem_type"`
	Shape    []any    `json:"shape"` // null: no shape; entries: dim_value, dim_param or null
}

func loadExpected(t *testing.T) map[string]jsonModel {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]jsonModel
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

func TestDecodeTestdata(t *testing.T) {
	want := loadExpected(t)
	for _, name := range []string{"convnet.onnx", "viewnet.onnx", "helper.onnx"} {
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("%s is not in expected.json", name)
			}
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(data, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if m.IRVersion != w.IRVersion || m.ProducerName != w.ProducerName || m.ProducerVersion != w.ProducerVersion ||
				m.ModelVersion != w.ModelVersion || m.DocString != w.DocString {
				t.Errorf("header: got ir %d %q %q v%d %q, want ir %d %q %q v%d %q",
					m.IRVersion, m.ProducerName, m.ProducerVersion, m.ModelVersion, m.DocString,
					w.IRVersion, w.ProducerName, w.ProducerVersion, w.ModelVersion, w.DocString)
			}
			if len(m.Opsets) != len(w.Opsets) {
				t.Fatalf("%d opset imports, want %d", len(m.Opsets), len(w.Opsets))
			}
			for i, o := range w.Opsets {
				if m.Opsets[i] != (OpsetImport{o.Domain, o.Version}) {
					t.Errorf("opset_import[%d] = %+v, want %+v", i, m.Opsets[i], o)
				}
			}
			if len(m.Metadata) != len(w.Metadata) {
				t.Fatalf("%d metadata entries, want %d", len(m.Metadata), len(w.Metadata))
			}
			for i, kv := range w.Metadata {
				if m.Metadata[i] != (StringString{kv.Key, kv.Value}) {
					t.Errorf("metadata_props[%d] = %+v, want %+v", i, m.Metadata[i], kv)
				}
			}
			compareGraph(t, "graph", m.Graph, &w.Graph)
		})
	}
}

func compareGraph(t *testing.T, path string, g *Graph, w *jsonGraph) {
	t.Helper()
	if g == nil {
		t.Fatalf("%s: missing", path)
	}
	if g.Name != w.Name {
		t.Errorf("%s.name = %q, want %q", path, g.Name, w.Name)
	}
	if len(g.ValueInfo) != w.ValueInfo {
		t.Errorf("%s: %d value_info, want %d", path, len(g.ValueInfo), w.ValueInfo)
	}
	if len(g.Nodes) != len(w.Nodes) {
		t.Fatalf("%s: %d nodes, want %d", path, len(g.Nodes), len(w.Nodes))
	}
	for i, wn := range w.Nodes {
		n := g.Nodes[i]
		p := fmt.Sprintf("%s.node[%d] %q", path, i, wn.Name)
		if n.Name != wn.Name || n.OpType != wn.OpType || n.Domain != wn.Domain ||
			fmt.Sprint(n.Inputs) != fmt.Sprint(wn.Inputs) || fmt.Sprint(n.Outputs) != fmt.Sprint(wn.Outputs) {
			t.Errorf("%s: got %q %s/%q %q→%q, want %q %s/%q %q→%q", p, n.Name, n.OpType, n.Domain, n.Inputs, n.Outputs,
				wn.Name, wn.OpType, wn.Domain, wn.Inputs, wn.Outputs)
		}
		if len(n.Attrs) != len(wn.Attrs) {
			t.Errorf("%s: %d attributes, want %d", p, len(n.Attrs), len(wn.Attrs))
			continue
		}
		for j, wa := range wn.Attrs {
			compareAttr(t, fmt.Sprintf("%s attribute %q", p, wa.Name), n.Attrs[j], &wa)
		}
	}
	if len(g.Initializers) != len(w.Initializers) {
		t.Fatalf("%s: %d initializers, want %d", path, len(g.Initializers), len(w.Initializers))
	}
	for i, wt := range w.Initializers {
		compareTensor(t, fmt.Sprintf("%s.initializer[%d]", path, i), g.Initializers[i], &wt)
	}
	compareValueInfos(t, path+".input", g.Inputs, w.Inputs)
	compareValueInfos(t, path+".output", g.Outputs, w.Outputs)
}

func compareAttr(t *testing.T, path string, a *Attribute, w *jsonAttr) {
	t.Helper()
	if a.Name != w.Name || a.Type != w.Type {
		t.Errorf("%s: got %q of type %v, want %q of type %v", path, a.Name, a.Type, w.Name, w.Type)
	}
	switch {
	case w.F != nil && float64(a.F) != *w.F:
		t.Errorf("%s: f = %v, want %v", path, a.F, *w.F)
	case w.I != nil && a.I != *w.I:
		t.Errorf("%s: i = %v, want %v", path, a.I, *w.I)
	case w.S != nil && string(a.S) != *w.S:
		t.Errorf("%s: s = %q, want %q", path, a.S, *w.S)
	case fmt.Sprint(a.Ints) != fmt.Sprint(w.Ints) && w.Ints != nil:
		t.Errorf("%s: ints = %v, want %v", path, a.Ints, w.Ints)
	}
	if w.Floats != nil {
		got := make([]float64, len(a.Floats))
		for i, f := range a.Floats {
			got[i] = float64(f)
		}
		if fmt.Sprint(got) != fmt.Sprint(w.Floats) {
			t.Errorf("%s: floats = %v, want %v", path, got, w.Floats)
		}
	}
	if w.Strings != nil {
		var got []string
		for _, s := range a.Strings {
			got = append(got, string(s))
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", w.Strings) {
			t.Errorf("%s: strings = %q, want %q", path, got, w.Strings)
		}
	}
	if w.T != nil {
		if a.T == nil {
			t.Errorf("%s: no tensor", path)
		} else {
			compareTensor(t, path+" t", a.T, w.T)
		}
	}
	if w.G != nil {
		compareGraph(t, path+" g", a.G, w.G)
	}
}

func compareTensor(t *testing.T, path string, tt *Tensor, w *jsonTensor) {
	t.Helper()
	if tt.Name != w.Name || tt.DataType != w.DataType || fmt.Sprint(tt.Dims) != fmt.Sprint(w.Dims) {
		t.Errorf("%s: got %q %v %v, want %q %v %v", path, tt.Name, tt.DataType, tt.Dims, w.Name, w.DataType, w.Dims)
	}
	if raw := tt.RawData != nil; raw != (w.Storage == "raw_data") {
		t.Errorf("%s: raw_data present = %v, want storage %s", path, raw, w.Storage)
	}
	n, err := tt.NumElements()
	if err != nil || n != w.Count {
		t.Errorf("%s: NumElements = %d, %v, want %d", path, n, err, w.Count)
	}
	vals, err := tt.Float64s()
	if err != nil {
		t.Errorf("%s: Float64s: %v", path, err)
		return
	}
	if int64(len(vals)) != w.Count {
		t.Errorf("%s: %d values, want %d", path, len(vals), w.Count)
	}
	for i, v := range w.First {
		if i >= len(vals) || vals[i] != v {
			t.Errorf("%s: values start %v, want %v", path, vals[:min(len(vals), len(w.First))], w.First)
			break
		}
	}
}

func compareValueInfos(t *testing.T, path string, got []*ValueInfo, want []jsonValueInfo) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d entries, want %d", path, len(got), len(want))
		return
	}
	for i, w := range want {
		v := got[i]
		p := fmt.Sprintf("%s[%d] %q", path, i, w.Name)
		if v.Name != w.Name || v.ElemType != w.ElemType {
			t.Errorf("%s: got %q %v, want %q %v", p, v.Name, v.ElemType, w.Name, w.ElemType)
		}
		if v.HasShape != (w.Shape != nil) || len(v.Dims) != len(w.Shape) {
			t.Errorf("%s: shape %v (present %v), want %v", p, v.Dims, v.HasShape, w.Shape)
			continue
		}
		for j, wd := range w.Shape {
			d := v.Dims[j]
			switch wd := wd.(type) {
			case float64:
				if !d.Known || float64(d.Value) != wd {
					t.Errorf("%s: dim %d = %+v, want %v", p, j, d, wd)
				}
			case string:
				if d.Known || d.Param != wd {
					t.Errorf("%s: dim %d = %+v, want %q", p, j, d, wd)
				}
			case nil:
				if d.Known || d.Param != "" {
					t.Errorf("%s: dim %d = %+v, want unknown", p, j, d)
				}
			}
		}
	}
}

// TestTestdataDetails checks what expected.json does not show: how the
// initializers of helper.onnx are stored, and the full float16 conversions.
func TestTestdataDetails(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "helper.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	init := map[string]*Tensor{}
	for _, tt := range m.Graph.Initializers {
		init[tt.Name] = tt
	}
	storage := map[string]int{"w": len(init["w"].FloatData), "shape": len(init["shape"].Int64Data),
		"half_typed": len(init["half_typed"].Int32Data), "u8": len(init["u8"].Int32Data),
		"flags": len(init["flags"].Int32Data), "dbl": len(init["dbl"].DoubleData), "u64": len(init["u64"].Uint64Data)}
	for name, n := range storage {
		if n == 0 || init[name].RawData != nil {
			t.Errorf("%s: want its values in the typed field, got %d there and raw_data %v", name, n, init[name].RawData != nil)
		}
	}
	h, err := init["half_typed"].Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, -2.5, 6.1035156e-05, -65504}; fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("half_typed = %v, want %v", h, want)
	}
	if _, err := init["u64"].Int64s(); err == nil {
		t.Error("Int64s of a uint64 above MaxInt64: no error")
	}
	shape, err := init["shape"].Int64s()
	if err != nil || fmt.Sprint(shape) != "[-1 6]" {
		t.Errorf("shape = %v, %v, want [-1 6]", shape, err)
	}
	if v, ok := m.OpsetVersion("com.example"); !ok || v != 1 {
		t.Errorf("OpsetVersion(com.example) = %d, %v", v, ok)
	}
	custom := m.Graph.Nodes[3]
	if a := custom.Attr("pads"); a == nil || fmt.Sprint(a.Ints) != "[0 1 0 1]" {
		t.Errorf("custom pads = %+v", a)
	}
}
