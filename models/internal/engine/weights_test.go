package engine

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
	"github.com/advcheck/advcheck/models/onnx"
)

// weightModels are the testdata models the weight tests import: convolutions
// with and without folded BatchNorm, Gemm and MatMul weights, transformers.
var weightModels = []string{"art_mnist", "view_chain", "pad_avgpool", "depthwise", "mlp", "softmax_head", "nhwc",
	"misc_ops", "bn_unfolded", "batch1", "act13", "act17", "convnext13", "deit17", "vit13", "swin17", "einsum13"}

// f32Elems counts the elements of g's constants that import left in float32.
func f32Elems(g *ir.Graph) int {
	k := 0
	seen := map[*ir.Tensor]bool{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v != nil && v.IsConst() && v.Const.F32 != nil && !seen[v.Const] {
				seen[v.Const] = true
				k += len(v.Const.F32)
			}
		}
	}
	return k
}

// loadGraphDouble imports a testdata model with its float32 tensors
// rewritten as float64 ones of the same values: import then holds every
// constant in float64 and computes with all of them, as it did before it
// kept float32 weights (ir.Tensor.F32).
func loadGraphDouble(t *testing.T, name string) *ir.Graph {
	t.Helper()
	m := decodeModel(t, name)
	double := func(ts ...*onnx.Tensor) {
		for _, x := range ts {
			if x == nil || x.DataType != onnx.Float {
				continue
			}
			d, err := x.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			*x = onnx.Tensor{Dims: x.Dims, DataType: onnx.Double, Name: x.Name, DoubleData: d}
		}
	}
	double(m.Graph.Initializers...)
	for _, n := range m.Graph.Nodes {
		for _, a := range n.Attrs {
			double(a.T)
			double(a.Tensors...)
		}
	}
	g, err := ir.FromONNX(m, ir.DefaultLimits())
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return g
}

// Keeping a file's float32 weights in float32 (ir.Tensor.F32) changes no
// bit of any result: the same model imported with float64 tensors of the
// same values, which import holds and folds in float64 throughout, gives
// the same logits and input gradient in both engines, and the same
// reference interpreter output.
func TestFloat32WeightsSameBits(t *testing.T) {
	for _, name := range weightModels {
		t.Run(name, func(t *testing.T) {
			g, wide := loadGraph(t, name), loadGraphDouble(t, name)
			if f32Elems(g) == 0 {
				t.Fatal("no constant kept in float32")
			}
			if f32Elems(wide) != 0 {
				t.Fatal("float64 tensors imported as float32")
			}
			if len(g.Nodes) != len(wide.Nodes) {
				t.Fatalf("%d nodes, %d with float64 tensors", len(g.Nodes), len(wide.Nodes))
			}
			for i, n := range g.Nodes {
				w := wide.Nodes[i]
				if n.Op.Kind() != w.Op.Kind() || len(n.Inputs) != len(w.Inputs) {
					t.Fatalf("node %d: %s against %s", i, n.Name, w.Name)
				}
				for j, v := range n.Inputs {
					if v != nil && v.IsConst() {
						sameBits(t, n.Name+" constant", v.Const.Float64s(), w.Inputs[j].Const.Float64s())
					}
				}
			}
			const n = 3
			rng := rand.New(rand.NewPCG(1, uint64(len(name))))
			x := make([]float64, n*g.Input.Shape.PerSample())
			for i := range x {
				x[i] = float32Of(rng.Float64())
			}
			labels := []int{0, 1 % g.Classes, 2 % g.Classes}
			sameBits(t, "float32", runBoth[float32](t, g, n, x, labels), runBoth[float32](t, wide, n, x, labels))
			sameBits(t, "float64", runBoth[float64](t, g, n, x, labels), runBoth[float64](t, wide, n, x, labels))
			in := &ir.Tensor{Shape: g.Input.Shape.Concrete(n), Data: x}
			a, err := g.Eval(in)
			if err != nil {
				t.Fatal(err)
			}
			b, err := wide.Eval(in)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, "reference", a.Data, b.Data)
		})
	}
}

func float32Of(v float64) float64 { return float64(float32(v)) }

// runBoth returns the logits and the cross-entropy input gradient, one after
// the other, of a fresh program of g.
func runBoth[T Float](t *testing.T, g *ir.Graph, n int, x []float64, labels []int) []float64 {
	t.Helper()
	logits, grad := runGolden[T](t, g, n, x, labels)
	return append(logits, grad...)
}

func sameBits(t *testing.T, what string, a, b []float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d values against %d", what, len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("%s: value %d is %v with float32 weights, %v with float64 ones", what, i, a[i], b[i])
		}
	}
}

// A float32 model reads the IR's float32 weights in place: no copy beside
// them, and running a program (forward and backward) leaves them as they
// were.
func TestFloat32WeightsReadInPlace(t *testing.T) {
	for _, name := range []string{"art_mnist", "mlp", "vit13"} {
		g := loadGraph(t, name)
		before := map[*ir.Tensor][]float32{}
		for _, n := range g.Nodes {
			for _, v := range n.Inputs {
				if v != nil && v.IsConst() && v.Const.F32 != nil {
					before[v.Const] = append([]float32(nil), v.Const.F32...)
				}
			}
		}
		m := NewModel[float32](g)
		p, err := m.Build(2, true)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.Input() {
			p.Input()[i] = float32(i%7) / 7
		}
		if err := p.Run(&Objective{Loss: kernels.CrossEntropy, Labels: []int{0, 1}}); err != nil {
			t.Fatal(err)
		}
		shared := 0
		for v, c := range m.consts {
			if v.Const.F32 == nil {
				continue
			}
			if unsafe.SliceData(c) != unsafe.SliceData(v.Const.F32) {
				t.Errorf("%s: constant %q is copied", name, v.Name)
			}
			shared++
		}
		if shared == 0 {
			t.Errorf("%s: no layer reads a float32 weight of the IR", name)
		}
		for c, want := range before {
			for i := range want {
				if math.Float32bits(c.F32[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s: a weight changed at element %d", name, i)
				}
			}
		}
		p.Close()
	}
}

// Check reports what Build reports, without building: nothing for the
// testdata models, the lowering's error for a graph it cannot lower.
func TestCheckMatchesBuild(t *testing.T) {
	for _, name := range weightModels {
		if err := Check[float32](loadGraph(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	g := loadGraph(t, "mlp")
	g.Nodes[len(g.Nodes)-1].Op = unknownOp{}
	_, berr := Build[float32](g, 1, true)
	cerr := Check[float32](g)
	if berr == nil || cerr == nil || berr.Error() != cerr.Error() {
		t.Errorf("Build: %v; Check: %v", berr, cerr)
	}
}

type unknownOp struct{}

func (unknownOp) Kind() string { return "Unknown" }
