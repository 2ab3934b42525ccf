package ir

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models/onnx"
)

func decodeFile(t *testing.T, path string) *onnx.Model {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(b, onnx.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// importAlloc imports m and returns the bytes allocated and the error.
func importAlloc(m *onnx.Model, lim Limits) (uint64, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := FromONNX(m, lim)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// Constants that folding would create (testdata/gen_hostile_fold.py) are
// refused from their shape, before they are allocated: the allocation stays
// within the fold budget, however large the tensor the file asks for.
func TestFoldLimits(t *testing.T) {
	const mib = 1 << 20
	budget := uint64(MaxFoldElements*8 + 16*mib)
	for _, c := range []struct {
		file  string
		say   string
		alloc uint64 // bytes import may allocate before it refuses
	}{
		{"fold_constantofshape", "ConstantOfShape output of shape [268435456] would hold more than the limit of 16777216 elements per tensor", 16 * mib},
		{"fold_constantofshape4", "ConstantOfShape output of shape [268435456]", 16 * mib},
		{"fold_many", `elements in all (33554432 more than the model stores)`, budget},
		{"fold_gather", "Gather output of shape [4194304 4096] would hold more than", 48 * mib},
		{"fold_pad", "Pad of shape [2147483652] would hold more than", 16 * mib},
		{"fold_broadcast", "Add of shape [65536 65536] would hold more than", 16 * mib},
		{"fold_concat", "Concat of shape [67108864] would hold more than", 64 * mib},
		{"fold_expand", "Expand output of shape [1048576 1048576] would hold more than", 16 * mib},
		{"fold_tile", "Tile output of shape [1000000000] would hold more than", 16 * mib},
		{"fold_range", "Range output of shape [1000000000000] would hold more than", 16 * mib},
	} {
		t.Run(c.file, func(t *testing.T) {
			m := decodeFile(t, "../../testdata/hostile/"+c.file+".onnx")
			alloc, err := importAlloc(m, DefaultLimits())
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.say) {
				t.Errorf("error %v; want ErrLimit saying %q", err, c.say)
			}
			if alloc > c.alloc {
				t.Errorf("import allocated %d MiB before refusing; want at most %d MiB", alloc/mib, c.alloc/mib)
			}
		})
	}
}

// The caller's limits (--max-tensor-elements, the total) apply to folded
// constants, below the built-in caps.
func TestFoldLimitsFromCaller(t *testing.T) {
	m := decodeFile(t, "../../testdata/hostile/fold_broadcast_small.onnx")
	if _, err := FromONNX(m, DefaultLimits()); err != nil {
		t.Fatalf("2^22-element fold under the default limits: %v", err)
	}
	// The outer sum [2048×2048] is 4194304 elements.
	_, err := FromONNX(m, Limits{MaxTensorElements: 4194303})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "Add of shape [2048 2048] would hold more than the limit of 4194303 elements per tensor") {
		t.Errorf("per-tensor limit: %v", err)
	}
	if _, err := FromONNX(m, Limits{MaxTensorElements: 4194304}); err != nil {
		t.Errorf("at the per-tensor limit: %v", err)
	}
	// Folded: col and row (2048 each), the sum and its float copy (4194304
	// each), the scalar sum (1); the budget adds the 14 stored elements.
	const stored, folded = 14, 2*2048 + 2*4194304 + 1
	_, err = FromONNX(m, Limits{MaxFoldElements: folded - 1 - stored})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "over the limit of 8392704 elements in all (8392690 more than the model stores)") {
		t.Errorf("fold budget: %v", err)
	}
	if _, err := FromONNX(m, Limits{MaxFoldElements: folded - stored}); err != nil {
		t.Errorf("at the fold budget: %v", err)
	}
	// Larger limits than the engine's caps are capped.
	if l := (Limits{MaxTensorElements: 1 << 40, MaxFoldElements: 1 << 40}).capped(); l != DefaultLimits() {
		t.Errorf("capped %+v", l)
	}
}

// Two writers of one name are refused, as the ONNX checker does: the last
// writer must not silently win (ssa_last_writer would import with 32
// classes against the 10 it declares).
func TestSingleAssignment(t *testing.T) {
	for file, want := range map[string]string{
		"ssa_last_writer": `tensor "logits" is written by node "fc32" (Gemm) and already by node "fc10" (Gemm)`,
		"ssa_initializer": `tensor "W10" is written by node "shadow" (Relu) and already by an initializer`,
		"ssa_input":       `tensor "x" is written by node "again" (Relu) and already by the graph input`,
	} {
		_, err := FromONNX(decodeFile(t, "../../testdata/hostile/"+file+".onnx"), DefaultLimits())
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want ErrInvalid saying %q", file, err, want)
		}
	}
	// One node writing a name twice, and an input declared twice.
	dup := onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
		[]*onnx.Node{{Name: "split", OpType: "Dropout", Inputs: []string{"x"}, Outputs: []string{"y", "y"}}}, "y")
	if _, err := FromONNX(dup, DefaultLimits()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `tensor "y" is written by node "split" (Dropout) and already by node "split" (Dropout)`) {
		t.Errorf("one node, one name twice: %v", err)
	}
	twice := onnxModel([]*onnx.ValueInfo{image("x", 4), image("x", 4)}, nil,
		[]*onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y")
	if _, err := FromONNX(twice, DefaultLimits()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `graph input "x" is declared twice`) {
		t.Errorf("input declared twice: %v", err)
	}
}

// A real PyTorch export with ops advcheck lacks names every one of them at
// once, with counts and first nodes, and says it is advcheck's gap.
func TestUnsupportedOps(t *testing.T) {
	_, err := FromONNX(decodeFile(t, "../../testdata/hostile/unsupported_ops.onnx"), DefaultLimits())
	var ue *UnsupportedOpsError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupportedOp) {
		t.Fatalf("error %v is not an *UnsupportedOpsError", err)
	}
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupported) {
		t.Errorf("error %v also reads as another kind", err)
	}
	want := []UnsupportedOp{
		{OpType: "Greater", Count: 1, First: "/Greater"},
		{OpType: "Less", Count: 1, First: "/Less"},
	}
	if len(ue.Ops) != len(want) {
		t.Fatalf("ops %+v, want %+v", ue.Ops, want)
	}
	for i := range want {
		if ue.Ops[i] != want[i] {
			t.Errorf("op %d: %+v, want %+v", i, ue.Ops[i], want[i])
		}
	}
	const text = `advcheck does not support ops Greater (node "/Greater"), Less (node "/Less") yet (docs/ops.md lists the supported ops)`
	if err.Error() != text {
		t.Errorf("error text\n%s\nwant\n%s", err, text)
	}
	// Ops of other domains are listed with their domain; an op used before
	// its opset defines it is an invalid model, not a missing op.
	m := onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
		[]*onnx.Node{{Name: "g", OpType: "Gelu", Domain: "com.microsoft", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y")
	if _, err := FromONNX(m, DefaultLimits()); err == nil || err.Error() != `advcheck does not support op com.microsoft.Gelu (node "g") yet (docs/ops.md lists the supported ops)` {
		t.Errorf("other domain: %v", err)
	}
	m = onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
		[]*onnx.Node{{Name: "e", OpType: "Erf", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y")
	m.Opsets[0].Version = 8
	if _, err := FromONNX(m, DefaultLimits()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "op Erf does not exist before opset 9") {
		t.Errorf("Erf at opset 8: %v", err)
	}
}

// Expand, Tile and Range fold constants as NumPy's broadcast_to, tile and
// arange do (values worked out by hand).
func TestGrowingFolds(t *testing.T) {
	ints := func(v ...float64) *Tensor { return &Tensor{Shape: []int{len(v)}, Data: v, Int: true} }
	scalar := func(v float64, isInt bool) *Tensor { return &Tensor{Shape: []int{}, Data: []float64{v}, Int: isInt} }
	for _, c := range []struct {
		op      string
		in      []*Tensor
		shape   []int
		data    []float64
		errKind error
	}{
		// broadcast_to([[1],[2],[3]], (2,3,2)); the shape may also be lower-rank.
		{"Expand", []*Tensor{{Shape: []int{3, 1}, Data: []float64{1, 2, 3}}, ints(2, 1, 2)}, []int{2, 3, 2},
			[]float64{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, nil},
		{"Expand", []*Tensor{{Shape: []int{2, 1}, Data: []float64{5, 6}}, ints(3)}, []int{2, 3}, []float64{5, 5, 5, 6, 6, 6}, nil},
		{"Expand", []*Tensor{{Shape: []int{2}, Data: []float64{5, 6}}, ints(3)}, nil, nil, ErrInvalid},
		{"Expand", []*Tensor{{Shape: []int{1}, Data: []float64{5}}, ints(-2)}, nil, nil, ErrInvalid},
		// tile([[1,2],[3,4]], (2,3)).
		{"Tile", []*Tensor{{Shape: []int{2, 2}, Data: []float64{1, 2, 3, 4}}, ints(2, 3)}, []int{4, 6},
			[]float64{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}, nil},
		{"Tile", []*Tensor{{Shape: []int{2}, Data: []float64{1, 2}}, ints(0)}, []int{0}, []float64{}, nil},
		{"Tile", []*Tensor{{Shape: []int{2}, Data: []float64{1, 2}}, ints(2, 2)}, nil, nil, ErrInvalid},
		// arange(1, 10, 3), arange(5, 1, -2), arange(0, 0, 1), arange(0.5, 1.4, 0.25).
		{"Range", []*Tensor{scalar(1, true), scalar(10, true), scalar(3, true)}, []int{3}, []float64{1, 4, 7}, nil},
		{"Range", []*Tensor{scalar(5, true), scalar(1, true), scalar(-2, true)}, []int{2}, []float64{5, 3}, nil},
		{"Range", []*Tensor{scalar(0, true), scalar(0, true), scalar(1, true)}, []int{0}, []float64{}, nil},
		{"Range", []*Tensor{scalar(0.5, false), scalar(1.4, false), scalar(0.25, false)}, []int{4}, []float64{0.5, 0.75, 1, 1.25}, nil},
		{"Range", []*Tensor{scalar(0, true), scalar(3, true), scalar(0, true)}, nil, nil, ErrInvalid},
	} {
		im := newImporter(13, DefaultLimits())
		n := &onnx.Node{Name: "n", OpType: c.op, Outputs: []string{"y"}}
		for i, tt := range c.in {
			name := string(rune('a' + i))
			im.vals[name] = constValue(name, tt)
			n.Inputs = append(n.Inputs, name)
		}
		v, err := opTable[c.op].conv(im, n, "n")
		if c.errKind != nil {
			if !errors.Is(err, c.errKind) {
				t.Errorf("%s %v: error %v, want %v", c.op, n.Inputs, err, c.errKind)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s of %v: %v", c.op, c.in[0].Data, err)
			continue
		}
		if !v.Shape.Equal(c.shape) || !slices.Equal(v.Const.Data, c.data) || v.Const.Int != c.in[0].Int {
			t.Errorf("%s of %v: %v %v (int %v), want %v %v", c.op, c.in[0].Data, v.Shape, v.Const.Data, v.Const.Int, c.shape, c.data)
		}
	}
	// On activations Tile and Expand may not set the batch size.
	im := newImporter(13, DefaultLimits())
	im.vals["x"] = &Value{Name: "x", Shape: Shape{Batch, 4}}
	im.vals["s"] = constValue("s", ints(2, 4))
	_, err := im.expand(&onnx.Node{OpType: "Expand", Inputs: []string{"x", "s"}, Outputs: []string{"y"}}, "e")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "would fix the batch size") {
		t.Errorf("Expand of activations to a batch of 2: %v", err)
	}
	_, err = im.tile(&onnx.Node{OpType: "Tile", Inputs: []string{"x", "s"}, Outputs: []string{"y"}}, "t")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "repeats the batch axis 2 times") {
		t.Errorf("Tile of activations along the batch: %v", err)
	}
}

// Gemm nodes that all read one weight the same way share one transposed
// copy: a small file cannot make import copy a large weight once per node.
func TestSharedGemmWeight(t *testing.T) {
	const k, in, out = 40, 64, 4096 // W is 4096×64: 1 MiB as float32
	w := &onnx.Tensor{Name: "W", DataType: onnx.Float, Dims: []int64{out, in}, FloatData: make([]float32, out*in)}
	attrs := []*onnx.Attribute{{Name: "transB", Type: onnx.AttrInt, I: 1}}
	nodes := []*onnx.Node{{Name: "g0", OpType: "Gemm", Inputs: []string{"x", "W"}, Outputs: []string{"s0"}, Attrs: attrs}}
	for i := 1; i < k; i++ {
		g, s := fmt.Sprintf("g%d", i), fmt.Sprintf("s%d", i)
		nodes = append(nodes,
			&onnx.Node{Name: g, OpType: "Gemm", Inputs: []string{"x", "W"}, Outputs: []string{g}, Attrs: attrs},
			&onnx.Node{Name: "add" + s, OpType: "Add", Inputs: []string{fmt.Sprintf("s%d", i-1), g}, Outputs: []string{s}})
	}
	m := onnxModel([]*onnx.ValueInfo{image("x", in)}, []*onnx.Tensor{w}, nodes, fmt.Sprintf("s%d", k-1))
	alloc, err := importAlloc(m, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	// W read transposed from the file once, in float32: 1 MiB.
	if alloc > 4<<20 {
		t.Errorf("import of %d Gemm nodes sharing a 2 MiB weight allocated %d MiB", k, alloc>>20)
	}
	g, err := FromONNX(m, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var first *Tensor
	dense := 0
	for _, n := range g.Nodes {
		if _, ok := n.Op.(Dense); ok {
			dense++
			if first == nil {
				first = n.Inputs[1].Const
			} else if n.Inputs[1].Const != first {
				t.Fatalf("node %s has its own copy of the weight", n.Name)
			}
		}
	}
	if dense != k {
		t.Errorf("%d Dense nodes, want %d", dense, k)
	}
}

// The fold budget grows with what the file stores: a graph that rewrites
// each of its weights once (a Transpose on every weight of an NHWC export)
// folds whatever the small budget on top.
func TestFoldBudgetCountsStored(t *testing.T) {
	c := &onnx.Tensor{Name: "C", DataType: onnx.Float, Dims: []int64{10, 100}, FloatData: make([]float32, 1000)}
	m := onnxModel([]*onnx.ValueInfo{image("x", 4)}, []*onnx.Tensor{c}, []*onnx.Node{
		{Name: "t", OpType: "Transpose", Inputs: []string{"C"}, Outputs: []string{"ct"}},
		{Name: "s", OpType: "ReduceSum", Inputs: []string{"ct"}, Outputs: []string{"cs"}, Attrs: []*onnx.Attribute{{Name: "keepdims", Type: onnx.AttrInt, I: 0}}},
		{Name: "y", OpType: "Add", Inputs: []string{"x", "cs"}, Outputs: []string{"y"}},
	}, "y")
	// Folded: the transpose (1000) and the sum (1); stored: 1000.
	if _, err := FromONNX(m, Limits{MaxFoldElements: 1}); err != nil {
		t.Errorf("1001 folded elements, 1000 stored, budget 1: %v", err)
	}
	// A second copy of the weight is beyond it.
	m.Graph.Nodes = append(m.Graph.Nodes, &onnx.Node{Name: "t2", OpType: "Transpose", Inputs: []string{"C"}, Outputs: []string{"ct2"}})
	if _, err := FromONNX(m, Limits{MaxFoldElements: 1}); !errors.Is(err, ErrLimit) {
		t.Errorf("2001 folded elements, 1000 stored, budget 1: %v", err)
	}
}

// An output whose computed shape contradicts the declared one is refused:
// the class count must be the one the file states. The batch axis and
// symbolic dimensions are not compared.
func TestDeclaredOutputShape(t *testing.T) {
	w := &onnx.Tensor{Name: "W", DataType: onnx.Float, Dims: []int64{16, 32}, FloatData: make([]float32, 16*32)}
	declared := func(dims ...onnx.Dim) *onnx.Model {
		m := onnxModel([]*onnx.ValueInfo{image("x", 16)}, []*onnx.Tensor{w},
			[]*onnx.Node{{Name: "fc", OpType: "MatMul", Inputs: []string{"x", "W"}, Outputs: []string{"y"}}}, "y")
		m.Graph.Outputs[0] = &onnx.ValueInfo{Name: "y", ElemType: onnx.Float, HasShape: true, Dims: dims}
		return m
	}
	n, k10, k32, one := onnx.Dim{Param: "N"}, onnx.Dim{Value: 10, Known: true}, onnx.Dim{Value: 32, Known: true}, onnx.Dim{Value: 1, Known: true}
	_, err := FromONNX(declared(n, k10), DefaultLimits())
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `the graph declares output "y" with dimension 1 of size 10, but its nodes compute [N×32]`) {
		t.Errorf("declared 10 classes, computed 32: %v", err)
	}
	if _, err := FromONNX(declared(n, k10, one), DefaultLimits()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "rank 3") {
		t.Errorf("declared rank 3: %v", err)
	}
	for _, dims := range [][]onnx.Dim{{n, k32}, {one, k32}, {n, {Param: "classes"}}, {{}, {}}} {
		if g, err := FromONNX(declared(dims...), DefaultLimits()); err != nil || g.Classes != 32 {
			t.Errorf("declared %v: %v", dims, err)
		}
	}
}
