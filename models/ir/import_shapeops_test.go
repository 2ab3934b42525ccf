package ir

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models/onnx"
)

func i64(name string, dims []int64, v ...int64) *onnx.Tensor {
	return &onnx.Tensor{Name: name, DataType: onnx.Int64, Dims: dims, Int64Data: v}
}

func f32(name string, dims []int64, v ...float32) *onnx.Tensor {
	return &onnx.Tensor{Name: name, DataType: onnx.Float, Dims: dims, FloatData: v}
}

func node(op string, in []string, out string, attrs ...*onnx.Attribute) *onnx.Node {
	return &onnx.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: attrs}
}

func intsAttr(name string, v ...int64) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrInts, Ints: v}
}

func intAttr(name string, v int64) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrInt, I: v}
}

// batchSizeNodes computes "n", the batch size as a 1-element int64 shape
// tensor, from the input x.
func batchSizeNodes() []*onnx.Node {
	return []*onnx.Node{
		node("Shape", []string{"x"}, "shape"),
		node("Gather", []string{"shape", "zero"}, "n0", intAttr("axis", 0)),
		node("Unsqueeze", []string{"n0", "axes0"}, "n"),
	}
}

var batchSizeInits = []*onnx.Tensor{i64("zero", []int64{}, 0), i64("axes0", []int64{1}, 0)}

func evalModel(t *testing.T, m *onnx.Model, x *Tensor) *Tensor {
	t.Helper()
	g, err := FromONNX(m, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	y, err := g.Eval(x)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func randX(shape ...int) *Tensor {
	rng := rand.New(rand.NewPCG(5, 6))
	x := NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	return x
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*(1+math.Abs(b)) }

// The class-token pattern of vision transformers: a [1×1×D] token expanded
// to [N×1×D] through Shape/Equal/Where (x.expand(N, -1, -1)) and
// concatenated before the patch tokens.
func TestClassTokenExpand(t *testing.T) {
	nodes := append(batchSizeNodes(),
		node("Concat", []string{"n", "minus2"}, "target", intAttr("axis", 0)),
		node("Shape", []string{"target"}, "tshape"),
		node("ConstantOfShape", []string{"tshape"}, "ones", &onnx.Attribute{Name: "value", Type: onnx.AttrTensor, T: i64("one", []int64{1}, 1)}),
		node("Mul", []string{"ones", "minus1"}, "neg"),
		node("Equal", []string{"target", "neg"}, "eq"),
		node("Where", []string{"eq", "ones", "target"}, "fixed"),
		node("Expand", []string{"cls", "fixed"}, "tokens"),
		node("Identity", []string{"tokens"}, "tokens2"),
		node("Concat", []string{"tokens2", "x"}, "seq", intAttr("axis", 1)),
		node("Flatten", []string{"seq"}, "y", intAttr("axis", 1)),
	)
	inits := append(append([]*onnx.Tensor(nil), batchSizeInits...),
		i64("minus2", []int64{2}, -1, -1), i64("minus1", []int64{}, -1), f32("cls", []int64{1, 1, 4}, 1, 2, 3, 4))
	m := onnxModel([]*onnx.ValueInfo{image("x", 3, 4)}, inits, nodes, "y")
	x := randX(2, 3, 4)
	y := evalModel(t, m, x)
	for s := 0; s < 2; s++ {
		for j := 0; j < 16; j++ {
			want := float64(j + 1)
			if j >= 4 {
				want = x.Data[s*12+j-4]
			}
			if got := y.Data[s*16+j]; !near(got, want) {
				t.Fatalf("sample %d element %d: %v, want %v", s, j, got, want)
			}
		}
	}
	// The expanded token may not feed an op that cannot broadcast it.
	nodes[len(nodes)-2] = node("Reshape", []string{"tokens2", "flat"}, "seq")
	inits = append(inits, i64("flat", []int64{2}, 0, -1))
	_, err := FromONNX(onnxModel([]*onnx.ValueInfo{image("x", 3, 4)}, inits, nodes, "y"), DefaultLimits())
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "broadcasts to the batch is read by Reshape") {
		t.Errorf("Reshape of the expanded token: %v", err)
	}
}

func TestShapeOpsOnActivations(t *testing.T) {
	boolT := func(name string, v ...int64) *onnx.Tensor {
		return &onnx.Tensor{Name: name, DataType: onnx.Bool, Dims: []int64{int64(len(v))}, Int32Data: toI32(v)}
	}
	x := randX(2, 3, 4)
	cases := []struct {
		name  string
		nodes []*onnx.Node
		inits []*onnx.Tensor
		want  func(s, i int) float64 // output element i of sample s, [N×12] unless said
		per   int
	}{
		{"Where with a constant condition", []*onnx.Node{
			node("Where", []string{"c", "x", "other"}, "w"), node("Flatten", []string{"w"}, "y")},
			[]*onnx.Tensor{boolT("c", 1, 0, 0, 1), f32("other", []int64{4}, 10, 20, 30, 40)},
			func(s, i int) float64 {
				if k := i % 4; k == 1 || k == 2 {
					return float64(10 * (k + 1))
				}
				return x.Data[s*12+i]
			}, 12},
		{"Where of Not", []*onnx.Node{
			node("Not", []string{"c"}, "nc"), node("Where", []string{"nc", "zeros", "x"}, "w"), node("Flatten", []string{"w"}, "y")},
			[]*onnx.Tensor{boolT("c", 1, 0, 0, 1), f32("zeros", []int64{}, 0)},
			func(s, i int) float64 {
				if k := i % 4; k == 1 || k == 2 {
					return 0
				}
				return x.Data[s*12+i]
			}, 12},
		{"Gather of two rows", []*onnx.Node{
			node("Gather", []string{"x", "rows"}, "g", intAttr("axis", 1)), node("Flatten", []string{"g"}, "y")},
			[]*onnx.Tensor{i64("rows", []int64{2}, 2, -3)},
			func(s, i int) float64 { return x.Data[s*12+[]int{2, 0}[i/4]*4+i%4] }, 8},
		{"Gather of the first token", []*onnx.Node{
			node("Gather", []string{"x", "zero"}, "y", intAttr("axis", 1))},
			[]*onnx.Tensor{i64("zero", []int64{}, 0)},
			func(s, i int) float64 { return x.Data[s*12+i] }, 4},
		{"Expand of activations", []*onnx.Node{
			node("Gather", []string{"x", "one"}, "row", intAttr("axis", 1)),
			node("Unsqueeze", []string{"row", "axes1"}, "row1"),
			node("Expand", []string{"row1", "shape"}, "e"), node("Flatten", []string{"e"}, "y")},
			[]*onnx.Tensor{i64("one", []int64{}, 1), i64("axes1", []int64{1}, 1), i64("shape", []int64{3}, 1, 2, 4)},
			func(s, i int) float64 { return x.Data[s*12+4+i%4] }, 8},
		{"Split with sizes", []*onnx.Node{
			{Name: "s", OpType: "Split", Inputs: []string{"x", "sizes"}, Outputs: []string{"a", "b"}, Attrs: []*onnx.Attribute{intAttr("axis", 2)}},
			node("Concat", []string{"b", "a"}, "c", intAttr("axis", 2)), node("Flatten", []string{"c"}, "y")},
			[]*onnx.Tensor{i64("sizes", []int64{2}, 1, 3)},
			func(s, i int) float64 { return x.Data[s*12+i/4*4+[]int{1, 2, 3, 0}[i%4]] }, 12},
		{"Split in equal parts", []*onnx.Node{
			{Name: "s", OpType: "Split", Inputs: []string{"x"}, Outputs: []string{"a", "b", "c"}, Attrs: []*onnx.Attribute{intAttr("axis", 1)}},
			node("Concat", []string{"c", "b", "a"}, "r", intAttr("axis", 1)), node("Flatten", []string{"r"}, "y")},
			nil,
			func(s, i int) float64 { return x.Data[s*12+(2-i/4)*4+i%4] }, 12},
		{"Mod and ScatterND folded", []*onnx.Node{
			node("Mod", []string{"a", "three"}, "r"),
			node("ScatterND", []string{"r", "at", "upd"}, "sc"),
			node("Cast", []string{"sc"}, "scf", intAttr("to", int64(onnx.Float))),
			node("Add", []string{"x", "scf"}, "z"), node("Flatten", []string{"z"}, "y")},
			[]*onnx.Tensor{i64("a", []int64{4}, -3, 5, 7, -8), i64("three", []int64{}, 3),
				i64("at", []int64{1, 1}, 2), i64("upd", []int64{1}, 9)},
			func(s, i int) float64 { return x.Data[s*12+i] + []float64{0, 2, 9, 1}[i%4] }, 12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := evalModel(t, onnxModel([]*onnx.ValueInfo{image("x", 3, 4)}, c.inits, c.nodes, "y"), x)
			if len(y.Data) != 2*c.per {
				t.Fatalf("output %v, want %d per sample", y.Shape, c.per)
			}
			for s := 0; s < 2; s++ {
				for i := 0; i < c.per; i++ {
					if got, want := y.Data[s*c.per+i], c.want(s, i); !near(got, want) {
						t.Fatalf("sample %d element %d: %v, want %v", s, i, got, want)
					}
				}
			}
		})
	}
}

func toI32(v []int64) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func TestShapeOpErrors(t *testing.T) {
	cases := []struct {
		name  string
		nodes []*onnx.Node
		inits []*onnx.Tensor
		want  string
	}{
		{"Equal of the batch size and 2", append(batchSizeNodes(),
			node("Equal", []string{"n", "two"}, "eq"), node("Where", []string{"eq", "x", "x"}, "y")),
			[]*onnx.Tensor{i64("two", []int64{1}, 2)}, "compares the batch size with 2"},
		{"Mod of the batch size", append(batchSizeNodes(),
			node("Mod", []string{"n", "two"}, "r"), node("Reshape", []string{"x", "r"}, "y")),
			[]*onnx.Tensor{i64("two", []int64{1}, 2)}, "Mod \"r\" of the batch size"},
		{"Reshape interleaving samples", append(batchSizeNodes(),
			node("Transpose", []string{"x"}, "xt", intsAttr("perm", 1, 0, 2)),
			node("Concat", []string{"n", "twelve"}, "target", intAttr("axis", 0)),
			node("Reshape", []string{"xt", "target"}, "y")),
			[]*onnx.Tensor{i64("twelve", []int64{1}, 12)}, "would mix samples"},
		{"Gather along the batch", []*onnx.Node{node("Gather", []string{"x", "zero"}, "y", intAttr("axis", 0))},
			nil, "Gather along the batch axis"},
		{"Where on a computed condition", []*onnx.Node{node("Where", []string{"x", "x", "x"}, "y")},
			nil, "condition computed from the model's activations"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inits := append(append([]*onnx.Tensor(nil), batchSizeInits...), c.inits...)
			_, err := FromONNX(onnxModel([]*onnx.ValueInfo{image("x", 3, 4)}, inits, c.nodes, "y"), DefaultLimits())
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrUnsupported saying %q", err, c.want)
			}
		})
	}
}

// A tensor whose batch axis the model merges with another ([N×4×6] viewed
// as [2·N×2×6]) is followed through Reshape, arithmetic and Softmax over a
// single axis; ops that would mix samples, or that advcheck does not follow
// through a merged axis, are refused.
func TestMergedBatch(t *testing.T) {
	merge := append(batchSizeNodes(),
		node("Mul", []string{"n", "two"}, "n2"),
		node("Concat", []string{"n2", "rest"}, "target", intAttr("axis", 0)),
		node("Reshape", []string{"x", "target"}, "m"))
	inits := append(append([]*onnx.Tensor(nil), batchSizeInits...),
		i64("two", []int64{1}, 2), i64("rest", []int64{2}, 2, 6), i64("back", []int64{2}, 0, 24), f32("half", []int64{}, 0.5))
	x := randX(3, 4, 6)
	ok := append(append([]*onnx.Node(nil), merge...),
		node("Mul", []string{"m", "half"}, "h"),
		node("Softmax", []string{"h"}, "s", intAttr("axis", 2)),
		node("Shape", []string{"s"}, "ss"),
		node("Gather", []string{"ss", "zero"}, "rows"),
		node("Div", []string{"rows", "two0"}, "n3"),
		node("Unsqueeze", []string{"n3", "axes0"}, "n4"),
		node("Concat", []string{"n4", "twentyfour"}, "target2", intAttr("axis", 0)),
		node("Reshape", []string{"s", "target2"}, "y"))
	y := evalModel(t, onnxModel([]*onnx.ValueInfo{image("x", 4, 6)}, append(inits, i64("twentyfour", []int64{1}, 24), i64("two0", []int64{}, 2)), ok, "y"), x)
	for r := 0; r < 12; r++ { // softmax(x/2) over each row of 6
		s := 0.0
		for j := 0; j < 6; j++ {
			s += math.Exp(x.Data[r*6+j] / 2)
		}
		for j := 0; j < 6; j++ {
			if got, want := y.Data[r*6+j], math.Exp(x.Data[r*6+j]/2)/s; !near(got, want) {
				t.Fatalf("row %d element %d: %v, want %v", r, j, got, want)
			}
		}
	}
	for _, c := range []struct {
		name string
		tail []*onnx.Node
		want string
	}{
		{"softmax over the merged axis", []*onnx.Node{node("Softmax", []string{"m"}, "y", intAttr("axis", 0))}, "Softmax over a merged batch axis"},
		{"reduce of a merged tensor", []*onnx.Node{node("ReduceSum", []string{"m"}, "y")}, "ReduceSum reads \"m\", whose batch axis the model merged with other axes ([2·N×2×6])"},
		{"merged output", []*onnx.Node{node("Identity", []string{"m"}, "y")}, "its batch axis is merged with others"},
	} {
		t.Run(c.name, func(t *testing.T) {
			nodes := append(append([]*onnx.Node(nil), merge...), c.tail...)
			_, err := FromONNX(onnxModel([]*onnx.ValueInfo{image("x", 4, 6)}, inits, nodes, "y"), DefaultLimits())
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrUnsupported saying %q", err, c.want)
			}
		})
	}
}

// Equal compares multiples of the batch size by their coefficients, and a
// list that holds 2·N cannot stand for a shape with one batch axis.
func TestSymMultiples(t *testing.T) {
	im := newImporter(13, DefaultLimits())
	n2 := &Tensor{Shape: []int{2}, Data: []float64{2, 1}, Int: true, Sym: []bool{true, true}}
	n1 := &Tensor{Shape: []int{2}, Data: []float64{1, 1}, Int: true, Sym: []bool{true, true}}
	im.vals["a"], im.vals["b"] = constValue("a", n2), constValue("b", n1)
	v, err := im.equal(&onnx.Node{OpType: "Equal", Inputs: []string{"a", "b"}, Outputs: []string{"y"}}, "eq")
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Const.Data; got[0] != 0 || got[1] != 1 {
		t.Errorf("Equal([2N, N], [N, N]) = %v, want [0 1]", got)
	}
	if _, err := constInts(constValue("a", n2), "Expand shape"); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "2 times the batch size") {
		t.Errorf("constInts of [2N, N]: %v", err)
	}
}
