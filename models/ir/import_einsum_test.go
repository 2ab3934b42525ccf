package ir

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models/onnx"
)

func strAttr(name, v string) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrString, S: []byte(v)}
}

// refEinsum evaluates an explicit equation ("ab,bc->ac") by summing over
// every assignment of its letters: the definition, independent of the
// lowering.
func refEinsum(eq string, ops []*Tensor) *Tensor {
	lhs, rhs, _ := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	size := map[byte]int{}
	var letters []byte
	for i, t := range terms {
		for k := range len(t) {
			if _, ok := size[t[k]]; !ok {
				letters = append(letters, t[k])
			}
			size[t[k]] = ops[i].Shape[k]
		}
	}
	outShape := make([]int, len(rhs))
	for i := range len(rhs) {
		outShape[i] = size[rhs[i]]
	}
	y := NewTensor(outShape...)
	at := map[byte]int{}
	var walk func(j int)
	walk = func(j int) {
		if j == len(letters) {
			p := 1.0
			for i, t := range terms {
				off := 0
				for k := range len(t) {
					off = off*ops[i].Shape[k] + at[t[k]]
				}
				p *= ops[i].Data[off]
			}
			off := 0
			for i := range len(rhs) {
				off = off*outShape[i] + at[rhs[i]]
			}
			y.Data[off] += p
			return
		}
		for v := 0; v < size[letters[j]]; v++ {
			at[letters[j]] = v
			walk(j + 1)
		}
	}
	walk(0)
	return y
}

func randConst(rng *rand.Rand, name string, dims ...int64) (*onnx.Tensor, *Tensor) {
	shape := make([]int, len(dims))
	t := &onnx.Tensor{Name: name, DataType: onnx.Float, Dims: dims}
	for i, d := range dims {
		shape[i] = int(d)
	}
	ref := NewTensor(shape...)
	for i := range ref.Data {
		v := float32(rng.NormFloat64())
		t.FloatData = append(t.FloatData, v)
		ref.Data[i] = float64(v)
	}
	return t, ref
}

// Einsum on activations, lowered to Transpose, Reshape and MatMul (or
// Dense), equals the definition summed letter by letter, for the equations
// of attention and linear layers, with the batch axis in either operand,
// constants on either side, and a transpose of one operand.
func TestEinsum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := randX(2, 3, 4, 5) // [N×3×4×5]: batch, heads, tokens, channels
	const n = 2
	for _, c := range []struct {
		eq     string
		second []int64 // the second operand's constant shape; nil: x again
		kinds  string  // the lowered product
	}{
		{"bhqd,bhkd->bhqk", nil, "MatMul"},
		{"bhqk,hkd->bhqd", []int64{3, 5, 5}, "MatMul"},
		{"bhqd,hed->bhqe", []int64{3, 6, 5}, "MatMul"},
		{"bhqd,de->bhqe", []int64{5, 6}, "Dense"},
		{"bhqd,de->bqhe", []int64{5, 6}, "Dense"},
		{"bhqd,qk->bhkd", []int64{4, 2}, "Dense"},
		{"bhqd,hqd->bh", []int64{3, 4, 5}, "MatMul"},
		{"bhqd->bdqh", nil, ""},
		{"bhqd,e->bhqde", []int64{2}, "Dense"},
	} {
		t.Run(c.eq, func(t *testing.T) {
			inits := []*onnx.Tensor{}
			ops := []*Tensor{x}
			in := []string{"x"}
			lhs, _, _ := strings.Cut(c.eq, "->")
			switch {
			case strings.Contains(lhs, ",") && c.second == nil:
				ops, in = append(ops, x), append(in, "x")
			case c.second != nil:
				w, ref := randConst(rng, "w", c.second...)
				inits = append(inits, w)
				ops, in = append(ops, ref), append(in, "w")
			}
			want := refEinsum(c.eq, ops)
			m := onnxModel([]*onnx.ValueInfo{image("x", 3, 4, 5)}, inits, []*onnx.Node{
				node("Einsum", in, "e", strAttr("equation", c.eq)),
				node("Flatten", []string{"e"}, "y")}, "y")
			m.Opsets[0].Version = 12
			g, err := FromONNX(m, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if c.kinds != "" {
				found := false
				for _, nd := range g.Nodes {
					found = found || nd.Op.Kind() == c.kinds
				}
				if !found {
					t.Errorf("no %s node in the lowering", c.kinds)
				}
			}
			y, err := g.Eval(x)
			if err != nil {
				t.Fatal(err)
			}
			if len(y.Data) != len(want.Data) || want.Shape[0] != n {
				t.Fatalf("output %v, want %v", y.Shape, want.Shape)
			}
			for i := range want.Data {
				if !near(y.Data[i], want.Data[i]) {
					t.Fatalf("element %d: %v, want %v", i, y.Data[i], want.Data[i])
				}
			}
		})
	}
	// The constant on the left (token mixing, "ij,bjk->bik").
	x3 := randX(2, 4, 5)
	w, ref := randConst(rng, "w", 3, 4)
	m := onnxModel([]*onnx.ValueInfo{image("x", 4, 5)}, []*onnx.Tensor{w}, []*onnx.Node{
		node("Einsum", []string{"w", "x"}, "e", strAttr("equation", "ij,bjk->bik")),
		node("Flatten", []string{"e"}, "y")}, "y")
	want := refEinsum("ij,bjk->bik", []*Tensor{ref, x3})
	y := evalModel(t, m, x3)
	for i := range want.Data {
		if !near(y.Data[i], want.Data[i]) {
			t.Fatalf("ij,bjk->bik element %d: %v, want %v", i, y.Data[i], want.Data[i])
		}
	}
}

// Equations the lowering does not cover are refused with the node and the
// equation; Tile of activations refuses repeating the batch axis.
func TestEinsumTileRefusals(t *testing.T) {
	for _, c := range []struct {
		eq, say string
		in      []string
	}{
		{"bii->bi", "repeated within an operand", []string{"x"}},
		{"...ij,...jk->...ik", "ellipsis", []string{"x", "x"}},
		{"bij,bjk->bi", "letter k is summed out of one operand", []string{"x", "x"}},
		{"bij->bi", "sums over axes of one operand", []string{"x"}},
		{"bij,bjk->ik", "sums over the batch axis", []string{"x", "x"}},
		{"bij,cjk->bik", "letter c is summed out of one operand", []string{"x", "x"}},
	} {
		m := onnxModel([]*onnx.ValueInfo{image("x", 4, 4)}, nil, []*onnx.Node{
			node("Einsum", c.in, "e", strAttr("equation", c.eq)), node("Flatten", []string{"e"}, "y")}, "y")
		_, err := FromONNX(m, DefaultLimits())
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.say) || !strings.Contains(err.Error(), `"e"`) || !strings.Contains(err.Error(), c.eq) {
			t.Errorf("%s: %v", c.eq, err)
		}
	}
	m := onnxModel([]*onnx.ValueInfo{image("x", 3, 4)}, []*onnx.Tensor{i64("reps", []int64{3}, 2, 1, 1)}, []*onnx.Node{
		node("Tile", []string{"x", "reps"}, "tl"), node("Flatten", []string{"tl"}, "y")}, "y")
	if _, err := FromONNX(m, DefaultLimits()); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "batch axis") {
		t.Errorf("Tile along the batch axis: %v", err)
	}
}

// Tile of activations repeats every non-batch axis as Tile defines:
// element k along an axis of size n is element k mod n.
func TestTileActivations(t *testing.T) {
	x := randX(2, 3, 4)
	for _, reps := range [][]int64{{1, 2, 1}, {1, 1, 3}, {1, 2, 3}, {1, 1, 1}} {
		m := onnxModel([]*onnx.ValueInfo{image("x", 3, 4)}, []*onnx.Tensor{i64("reps", []int64{3}, reps...)}, []*onnx.Node{
			node("Tile", []string{"x", "reps"}, "tl"), node("Flatten", []string{"tl"}, "y")}, "y")
		y := evalModel(t, m, x)
		h, w := 3*int(reps[1]), 4*int(reps[2])
		if len(y.Data) != 2*h*w {
			t.Fatalf("repeats %v: output %v", reps, y.Shape)
		}
		for s := 0; s < 2; s++ {
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					if got, want := y.Data[(s*h+i)*w+j], x.Data[s*12+(i%3)*4+j%4]; got != want {
						t.Fatalf("repeats %v: sample %d [%d, %d] = %v, want %v", reps, s, i, j, got, want)
					}
				}
			}
		}
	}
}
