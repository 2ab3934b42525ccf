package ir

import (
	bin "encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models/onnx"
)

// rawF32 returns a float32 initializer stored in raw_data, as PyTorch writes
// them, with random values.
func rawF32(name string, rng *rand.Rand, dims ...int64) (*onnx.Tensor, []float32) {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	v := make([]float32, n)
	raw := make([]byte, 0, 4*n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		raw = bin.LittleEndian.AppendUint32(raw, math.Float32bits(v[i]))
	}
	return &onnx.Tensor{Name: name, DataType: onnx.Float, Dims: dims, RawData: raw}, v
}

func gemmTransB(in, w, out string) *onnx.Node {
	return &onnx.Node{Name: out, OpType: "Gemm", Inputs: []string{in, w}, Outputs: []string{out},
		Attrs: []*onnx.Attribute{{Name: "transB", Type: onnx.AttrInt, I: 1}}}
}

// Import holds a file's float32 weights once, in float32: a MatMul weight as
// stored and a transposed Gemm weight only transposed (read from the file
// in pieces), never a float64 copy. The allocation is what the two weights
// take in float32 and little more (float64 weights, or the Gemm weight both
// as stored and transposed, would take 3× or 1.5× as much).
func TestImportHoldsWeightsOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const a, b = 1024, 2048
	w1, _ := rawF32("W1", rng, a, b) // x·W1: [N×a] → [N×b]
	w2, _ := rawF32("W2", rng, a, b) // Gemm with transB: [N×b] → [N×a]
	m := onnxModel([]*onnx.ValueInfo{image("x", a)}, []*onnx.Tensor{w1, w2}, []*onnx.Node{
		{Name: "mm", OpType: "MatMul", Inputs: []string{"x", "W1"}, Outputs: []string{"h"}},
		gemmTransB("h", "W2", "y"),
	}, "y")
	alloc, err := importAlloc(m, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	weights := uint64(2 * a * b * 4)
	if alloc > weights+weights/8 {
		t.Errorf("import allocated %.1f MiB for %.1f MiB of float32 weights", float64(alloc)/(1<<20), float64(weights)/(1<<20))
	}
	g, err := FromONNX(m, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if w := n.Inputs[1].Const; w.F32 == nil || w.Data != nil {
			t.Errorf("node %s: weight not held in float32 alone", n.Name)
		}
	}
}

// A Gemm weight read transposed from the file equals the transpose of the
// stored matrix, for sizes that are not multiples of the 64-row pieces;
// one that another node also reads as stored is read whole and transposed
// in memory, to the same values.
func TestTransposedGemmWeight(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const r, c = 130, 70
	w, vals := rawF32("W", rng, r, c)
	check := func(what string, g *Graph) {
		t.Helper()
		found := false
		for _, n := range g.Nodes {
			if n.Name != "y" {
				continue
			}
			found = true
			wt := n.Inputs[1].Const
			if len(wt.Shape) != 2 || wt.Shape[0] != c || wt.Shape[1] != r || len(wt.F32) != r*c {
				t.Fatalf("%s: Dense weight of shape %v, %d float32 values", what, wt.Shape, len(wt.F32))
			}
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					if got, want := wt.F32[j*r+i], vals[i*c+j]; math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s: W^T[%d,%d] = %v, want %v", what, j, i, got, want)
					}
				}
			}
		}
		if !found {
			t.Fatalf("%s: no Gemm node", what)
		}
	}
	only := onnxModel([]*onnx.ValueInfo{image("x", c)}, []*onnx.Tensor{w}, []*onnx.Node{gemmTransB("x", "W", "y")}, "y")
	g, err := FromONNX(only, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	check("Gemm alone", g)
	shared := onnxModel([]*onnx.ValueInfo{image("x", r)}, []*onnx.Tensor{w}, []*onnx.Node{
		{Name: "h", OpType: "MatMul", Inputs: []string{"x", "W"}, Outputs: []string{"h"}},
		gemmTransB("h", "W", "y"),
	}, "y")
	if g, err = FromONNX(shared, DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	check("Gemm and MatMul", g)
}

// A NaN in a Gemm weight read transposed is refused at the start, with the
// message of any other initializer.
func TestTransposedGemmWeightNaN(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, transB := range []int64{1, 0} {
		w, _ := rawF32("W", rng, 4, 4)
		bin.LittleEndian.PutUint32(w.RawData[4*5:], math.Float32bits(float32(math.NaN())))
		n := gemmTransB("x", "W", "y")
		n.Attrs[0].I = transB
		_, err := FromONNX(onnxModel([]*onnx.ValueInfo{image("x", 4)}, []*onnx.Tensor{w}, []*onnx.Node{n}, "y"), DefaultLimits())
		if want := `initializer "W": invalid model: tensor "W" holds NaN at element 5`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("transB=%d: %v, want %q", transB, err, want)
		}
	}
}
