package ir

import (
	"math/rand/v2"
	"testing"
)

// TestPushSlices builds a transformer block's tail read through a Slice, as
// a vision transformer's class token is, and checks that the passes move the
// Slice ahead of the row-wise ops (and only those) without changing a value.
func TestPushSlices(t *testing.T) {
	cases := []struct {
		name string
		// cut slices the block output [N×5×6]; rows is what the Dense
		// before it must compute per sample afterwards.
		cut  Slice
		soft int // the attention-like softmax's axis
		rows Shape
	}{
		{"token 0", Slice{Starts: []int{0, 0, 0}, Ends: []int{Batch, 1, 6}, Steps: []int{1, 1, 1}}, 3, Shape{Batch, 1, 8}},
		{"tokens 1–3", Slice{Starts: []int{0, 1, 0}, Ends: []int{Batch, 4, 6}, Steps: []int{1, 1, 1}}, 3, Shape{Batch, 3, 8}},
		// Features are mixed by the Dense: the Slice stops after it.
		{"features 0–2", Slice{Starts: []int{0, 0, 0}, Ends: []int{Batch, 5, 2}, Steps: []int{1, 1, 1}}, 3, Shape{Batch, 5, 8}},
		// A softmax across tokens mixes them: the attention part stays whole.
		{"softmax across tokens", Slice{Starts: []int{0, 0, 0}, Ends: []int{Batch, 1, 6}, Steps: []int{1, 1, 1}}, 1, Shape{Batch, 1, 8}},
	}
	for _, tc := range cases {
		rng := rand.New(rand.NewPCG(9, 10))
		b := NewBuilder("x", Shape{Batch, 5, 6})
		add := func(name string, op Op, shape Shape, in ...*Value) *Value {
			v, err := b.Add(name, op, shape, in...)
			if err != nil {
				t.Fatalf("%s: %s: %v", tc.name, name, err)
			}
			return v
		}
		mat := func(name string, r, c int) *Value {
			m := NewTensor(r, c)
			for i := range m.Data {
				m.Data[i] = rng.NormFloat64() / 2
			}
			return b.Const(name, m)
		}
		vec := func(name string, n int) *Value {
			m := NewTensor(n)
			for i := range m.Data {
				m.Data[i] = rng.NormFloat64()
			}
			return b.Const(name, m)
		}
		x := add("pre", Unary{Func: Tanh}, nil, b.Input())
		// Attention-like: q, k from x; scores [N×5×5] seen as [N×5×1×5] for a
		// softmax over axis tc.soft; values v; out [N×5×6].
		q := add("q", Dense{}, nil, x, mat("wq", 6, 4), vec("bq", 4))
		k := add("k", Dense{}, nil, x, mat("wk", 6, 4), vec("bk", 4))
		kt := add("kt", Transpose{Perm: []int{0, 2, 1}}, nil, k)
		s := add("scores", MatMul{}, nil, q, kt)
		s4 := add("heads", Reshape{}, Shape{Batch, 5, 1, 5}, s)
		a := add("softmax", Softmax{Axis: tc.soft}, nil, s4)
		a3 := add("merge", Reshape{}, Shape{Batch, 5, 5}, a)
		v := add("v", Dense{}, nil, x, mat("wv", 6, 6), vec("bv", 6))
		o := add("attend", MatMul{}, nil, a3, v)
		h := add("resid", Binary{Add}, nil, x, o)
		ln := add("ln", LayerNorm{Axis: 2, Epsilon: 1e-5}, nil, h, vec("g", 6), vec("beta", 6))
		f := add("fc1", Dense{}, nil, ln, mat("w1", 6, 8), vec("b1", 8))
		f = add("gelu", Unary{Func: Gelu}, nil, f)
		f = add("fc2", Dense{}, nil, f, mat("w2", 8, 6), vec("b2", 6))
		y := add("resid2", Binary{Add}, nil, h, f)
		y = add("scale", Binary{Mul}, nil, y, vec("sc", 6)) // broadcasts along tokens
		y = add("cut", tc.cut, nil, y)
		out := add("flat", Reshape{}, Shape{Batch, y.Shape.PerSample()}, y)

		in := NewTensor(3, 5, 6)
		for i := range in.Data {
			in.Data[i] = rng.NormFloat64()
		}
		g := finishAndCompare(t, tc.name, b, out, in, 0, 1e-12)
		shapes := map[string]Shape{}
		for _, n := range g.Nodes {
			shapes[n.Name] = n.Output.Shape
		}
		if !shapes["fc1"].Equal(tc.rows) {
			t.Errorf("%s: fc1 computes %v, want %v", tc.name, shapes["fc1"], tc.rows)
		}
		// The scores' rows follow the kept tokens only when the softmax
		// normalises within a row.
		wantScores := Shape{Batch, 5, 5}
		if tc.soft == 3 && tc.rows[1] < 5 {
			wantScores = Shape{Batch, tc.rows[1], 5}
		}
		if !shapes["scores"].Equal(wantScores) {
			t.Errorf("%s: scores %v, want %v", tc.name, shapes["scores"], wantScores)
		}
		// k and v are read whole by every kept row.
		if !shapes["k"].Equal(Shape{Batch, 5, 4}) || !shapes["v"].Equal(Shape{Batch, 5, 6}) {
			t.Errorf("%s: k %v and v %v were cut", tc.name, shapes["k"], shapes["v"])
		}
	}
}
