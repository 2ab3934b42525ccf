package ir

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models/onnx"
)

func load(t *testing.T, name string) *Graph {
	t.Helper()
	b, err := os.ReadFile("../../testdata/models/" + name + ".onnx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(b, onnx.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	g, err := FromONNX(m, DefaultLimits())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return g
}

func kinds(g *Graph) map[string]int {
	k := map[string]int{}
	for _, n := range g.Nodes {
		k[n.Op.Kind()]++
	}
	return k
}

func TestImportFoldsAndRewrites(t *testing.T) {
	// BatchNormalization becomes per-channel Mul+Add and is folded into the convolutions.
	bn := kinds(load(t, "bn_unfolded"))
	if bn["Mul"]+bn["Add"] != 0 || bn["Conv"] != 2 {
		t.Errorf("bn_unfolded: BatchNorm not folded into Conv: %v", bn)
	}
	// The Shape→Gather→Unsqueeze→Concat chain folds to a constant Reshape target.
	vc := kinds(load(t, "view_chain"))
	if vc["Reshape"] != 1 || len(vc) != 4 {
		t.Errorf("view_chain: want Conv, Relu, Reshape, Dense only, got %v", vc)
	}
	// A batch of 1 baked into a Reshape is rewritten, and said so.
	b1 := load(t, "batch1")
	if len(b1.Notes) == 0 || !strings.Contains(b1.Notes[0], "batch size of 1") {
		t.Errorf("batch1: notes %q", b1.Notes)
	}
	// A final Softmax is set aside.
	sm := load(t, "softmax_head")
	if sm.OutputKind != OutputProbabilities || kinds(sm)["Softmax"] != 0 {
		t.Errorf("softmax_head: kind %s, ops %v", sm.OutputKind, kinds(sm))
	}
	if sm.Classes != 10 {
		t.Errorf("softmax_head: %d classes", sm.Classes)
	}
}

// onnxModel builds a decoded model directly.
func onnxModel(inputs []*onnx.ValueInfo, inits []*onnx.Tensor, nodes []*onnx.Node, output string) *onnx.Model {
	return &onnx.Model{IRVersion: 8, Opsets: []onnx.OpsetImport{{Version: 13}}, Graph: &onnx.Graph{
		Inputs: inputs, Initializers: inits, Nodes: nodes, Outputs: []*onnx.ValueInfo{{Name: output}},
	}}
}

func image(name string, dims ...int64) *onnx.ValueInfo {
	vi := &onnx.ValueInfo{Name: name, ElemType: onnx.Float, HasShape: true, Dims: []onnx.Dim{{Param: "N"}}}
	for _, d := range dims {
		vi.Dims = append(vi.Dims, onnx.Dim{Value: d, Known: true})
	}
	return vi
}

func TestImportErrors(t *testing.T) {
	ints := func(name string, v ...int64) *onnx.Tensor {
		return &onnx.Tensor{Name: name, DataType: onnx.Int64, Dims: []int64{int64(len(v))}, Int64Data: v}
	}
	floats := func(name string, v ...float32) *onnx.Tensor {
		return &onnx.Tensor{Name: name, DataType: onnx.Float, Dims: []int64{int64(len(v))}, FloatData: v}
	}
	opset := func(m *onnx.Model, v int64) *onnx.Model {
		m.Opsets[0].Version = v
		return m
	}
	cases := []struct {
		name string
		m    *onnx.Model
		base error
		want string
	}{
		{"pow with an activation exponent", onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
			[]*onnx.Node{{Name: "p", OpType: "Pow", Inputs: []string{"x", "x"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, "Pow exponent must be a scalar constant"},
		{"pow with a vector exponent", onnxModel([]*onnx.ValueInfo{image("x", 2)}, []*onnx.Tensor{floats("e", 2, 3)},
			[]*onnx.Node{{Name: "p", OpType: "Pow", Inputs: []string{"x", "e"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, "Pow exponent must be a scalar constant"},
		{"pow with one input", onnxModel([]*onnx.ValueInfo{image("x", 2)}, nil,
			[]*onnx.Node{{Name: "p", OpType: "Pow", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y"),
			ErrInvalid, "Pow takes two inputs"},
		{"gelu with an unknown approximation", opset(onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
			[]*onnx.Node{{Name: "g", OpType: "Gelu", Attrs: []*onnx.Attribute{{Name: "approximate", Type: onnx.AttrString, S: []byte("sigmoid")}}, Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y"), 20),
			ErrInvalid, `Gelu approximate "sigmoid"`},
		{"hardswish with two inputs", opset(onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
			[]*onnx.Node{{Name: "h", OpType: "HardSwish", Inputs: []string{"x", "x"}, Outputs: []string{"y"}}}, "y"), 14),
			ErrInvalid, "HardSwish takes one input"},
		{"unsupported op", onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
			[]*onnx.Node{{Name: "lstm1", OpType: "LSTM", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupportedOp, `advcheck does not support op LSTM (node "lstm1") yet`},
		{"two inputs", onnxModel([]*onnx.ValueInfo{image("a", 4), image("b", 4)}, nil,
			[]*onnx.Node{{OpType: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, "more than one input"},
		{"undefined value", onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
			[]*onnx.Node{{Name: "r", OpType: "Relu", Inputs: []string{"nope"}, Outputs: []string{"y"}}}, "y"),
			ErrInvalid, `"nope" is used before it is defined`},
		{"symbolic image size", onnxModel([]*onnx.ValueInfo{{Name: "x", ElemType: onnx.Float, HasShape: true, Dims: []onnx.Dim{{Param: "N"}, {Param: "C"}}}}, nil,
			[]*onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, "not a fixed size"},
		{"reshape mixing samples", onnxModel([]*onnx.ValueInfo{image("x", 4)}, []*onnx.Tensor{ints("s", 2, -1)},
			[]*onnx.Node{{Name: "r", OpType: "Reshape", Inputs: []string{"x", "s"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, "does not keep the batch dimension"},
		{"softmax over the batch", onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
			[]*onnx.Node{{Name: "s", OpType: "Softmax", Attrs: []*onnx.Attribute{{Name: "axis", Type: onnx.AttrInt, I: 0}}, Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, "over the batch axis"},
		{"one class", onnxModel([]*onnx.ValueInfo{image("x", 1)}, nil,
			[]*onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, "at least 2 classes"},
		{"maxpool indices used", onnxModel([]*onnx.ValueInfo{image("x", 1, 4, 4)}, nil,
			[]*onnx.Node{{Name: "p", OpType: "MaxPool", Attrs: []*onnx.Attribute{{Name: "kernel_shape", Type: onnx.AttrInts, Ints: []int64{2, 2}}}, Inputs: []string{"x"}, Outputs: []string{"y", "idx"}},
				{OpType: "Flatten", Inputs: []string{"idx"}, Outputs: []string{"z"}}}, "z"),
			ErrUnsupported, "Indices output"},
		{"output independent of input", onnxModel([]*onnx.ValueInfo{image("x", 4)}, []*onnx.Tensor{ints("c", 1, 2)},
			[]*onnx.Node{{OpType: "Identity", Inputs: []string{"c"}, Outputs: []string{"y"}}}, "y"),
			ErrInvalid, "does not depend on the input"},
		{"conv weight not constant", onnxModel([]*onnx.ValueInfo{image("x", 1, 4, 4)}, nil,
			[]*onnx.Node{{Name: "c", OpType: "Conv", Inputs: []string{"x", "x"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, "weights must be constant"},
		{"reflect pad", onnxModel([]*onnx.ValueInfo{image("x", 1, 4, 4)}, []*onnx.Tensor{ints("p", 0, 0, 1, 1, 0, 0, 1, 1)},
			[]*onnx.Node{{Name: "p", OpType: "Pad", Attrs: []*onnx.Attribute{{Name: "mode", Type: onnx.AttrString, S: []byte("reflect")}}, Inputs: []string{"x", "p"}, Outputs: []string{"y"}}}, "y"),
			ErrUnsupported, `mode "reflect"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromONNX(c.m, DefaultLimits())
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.base) {
				t.Errorf("error %q does not wrap %v", err, c.base)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestPrependContract(t *testing.T) {
	// The NHWC model behind an NCHW contract with scale and normalisation
	// must compute f(transpose((x·s − m)/σ)).
	g := load(t, "nhwc")
	ref := load(t, "nhwc")
	pre := Preprocessing{Scale: 255, Mean: []float64{120}, Std: []float64{60}, NHWC: true}
	if err := g.Prepend(pre); err != nil {
		t.Fatal(err)
	}
	if !g.Input.Shape.Equal(Shape{Batch, 1, 28, 28}) {
		t.Fatalf("pixel input %v", g.Input.Shape)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := NewTensor(2, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	native := NewTensor(2, 28, 28, 1)
	for i, v := range x.Data {
		native.Data[i] = (v*255 - 120) / 60 // C = 1: NCHW and NHWC orders coincide
	}
	got, err := g.Eval(x)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Eval(native)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Data {
		if math.Abs(got.Data[i]-want.Data[i]) > 1e-12*(1+math.Abs(want.Data[i])) {
			t.Fatalf("logit %d: %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
	if err := load(t, "mlp").Prepend(Preprocessing{Mean: []float64{0.1, 0.2}, Std: []float64{1, 1}}); err == nil {
		t.Error("two means for one channel accepted")
	}
}
