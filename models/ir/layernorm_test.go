package ir

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// unfusedLayerNorm builds PyTorch's opset-13 export of F.layer_norm over the
// last axis of x, followed by its weight and bias, and returns the output.
// With leak, the centred value is also read outside the pattern.
func unfusedLayerNorm(t *testing.T, b *Builder, x *Value, rng *rand.Rand, leak bool) *Value {
	t.Helper()
	rank := len(x.Shape)
	d := x.Shape[rank-1]
	add := func(name string, op Op, in ...*Value) *Value {
		v, err := b.Add(name, op, nil, in...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	scalar := func(v float64) *Value { return b.Const("c", &Tensor{Shape: []int{}, Data: []float64{v}}) }
	vec := func(name string) *Value {
		c := NewTensor(d)
		for i := range c.Data {
			c.Data[i] = rng.NormFloat64()
		}
		return b.Const(name, c)
	}
	mu := add("mean", Reduce{Mean: true, Axes: []int{rank - 1}, KeepDims: true}, x)
	dv := add("sub", Binary{Sub}, x, mu)
	sq := add("pow", Unary{Func: Pow, Alpha: 2}, dv)
	vr := add("var", Reduce{Mean: true, Axes: []int{rank - 1}, KeepDims: true}, sq)
	ve := add("addeps", Binary{Add}, vr, scalar(1e-6))
	sd := add("sqrt", Unary{Func: Sqrt}, ve)
	y := add("div", Binary{Div}, dv, sd)
	y = add("mul", Binary{Mul}, y, vec("w"))
	y = add("add", Binary{Add}, vec("b"), y)
	if leak {
		y = add("leak", Binary{Add}, y, dv)
	}
	return add("tanh", Unary{Func: Tanh}, y)
}

func TestFuseLayerNorm(t *testing.T) {
	for _, leak := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(3, 4))
		b := NewBuilder("x", Shape{Batch, 4, 6})
		y := unfusedLayerNorm(t, b, b.Input(), rng, leak)
		out, err := b.Add("flat", Reshape{}, Shape{Batch, 24}, y)
		if err != nil {
			t.Fatal(err)
		}
		x := NewTensor(3, 4, 6)
		for i := range x.Data {
			x.Data[i] = rng.NormFloat64()*2 + 1
		}
		g := finishAndCompare(t, fmt.Sprintf("leak=%v", leak), b, out, x, 0, 1e-12)
		k := kinds(g)
		if leak {
			// The centred value is read outside: nothing may be fused.
			if k["LayerNormalization"] != 0 || k["ReduceMean"] != 2 {
				t.Errorf("leak: fused anyway: %v", k)
			}
			continue
		}
		if k["LayerNormalization"] != 1 || len(k) != 3 {
			t.Errorf("want LayerNormalization (scale and bias folded in), Tanh and Reshape, got %v", k)
		}
	}
}

// finishAndCompare evaluates what b built up to out on x as built and after
// Finish's passes, fails the test where an output moves by more than
// rel·|before| + abs (or is NaN on one side only), and returns the finished
// graph.
func finishAndCompare(t *testing.T, name string, b *Builder, out *Value, x *Tensor, rel, abs float64) *Graph {
	t.Helper()
	raw := &Graph{Input: b.Input(), Output: out, Nodes: append([]*Node(nil), b.im.nodes...)}
	want, err := raw.Eval(x)
	if err != nil {
		t.Fatal(err)
	}
	g, err := b.Finish(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Eval(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Data {
		if d := math.Abs(got.Data[i] - want.Data[i]); !(d <= rel*math.Abs(want.Data[i])+abs) {
			t.Fatalf("%s: output %d is %v after the passes, %v before", name, i, got.Data[i], want.Data[i])
		}
	}
	return g
}
