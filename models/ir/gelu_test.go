package ir

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFuseGelu builds the exact GELU as exporters without a Gelu op write it,
// in several orders, and checks that the passes fuse exactly those whose
// constants and readers allow it, without changing the output beyond the
// float32 rounding of the exporter's √2.
func TestFuseGelu(t *testing.T) {
	sqrt2f := float64(float32(math.Sqrt2))
	cases := []struct {
		name  string
		build func(add func(string, Op, ...*Value) *Value, scalar func(float64) *Value, x *Value) *Value
		fused bool
	}{
		{"pytorch: (x·(erf(x/√2)+1))·0.5", func(add func(string, Op, ...*Value) *Value, c func(float64) *Value, x *Value) *Value {
			e := add("erf", Unary{Func: Erf}, add("div", Binary{Div}, x, c(sqrt2f)))
			return add("half", Binary{Mul}, add("mul", Binary{Mul}, x, add("add", Binary{Add}, e, c(1))), c(0.5))
		}, true},
		{"(0.5·x)·(1+erf(x·1/√2))", func(add func(string, Op, ...*Value) *Value, c func(float64) *Value, x *Value) *Value {
			e := add("erf", Unary{Func: Erf}, add("scale", Binary{Mul}, c(1/math.Sqrt2), x))
			return add("mul", Binary{Mul}, add("half", Binary{Mul}, c(0.5), x), add("add", Binary{Add}, c(1), e))
		}, true},
		{"x·((erf(x/√2)+1)·0.5)", func(add func(string, Op, ...*Value) *Value, c func(float64) *Value, x *Value) *Value {
			e := add("erf", Unary{Func: Erf}, add("div", Binary{Div}, x, c(math.Sqrt2)))
			return add("mul", Binary{Mul}, x, add("half", Binary{Mul}, add("add", Binary{Add}, e, c(1)), c(0.5)))
		}, true},
		{"x/√3 is not GELU", func(add func(string, Op, ...*Value) *Value, c func(float64) *Value, x *Value) *Value {
			e := add("erf", Unary{Func: Erf}, add("div", Binary{Div}, x, c(math.Sqrt(3))))
			return add("half", Binary{Mul}, add("mul", Binary{Mul}, x, add("add", Binary{Add}, e, c(1))), c(0.5))
		}, false},
		{"·0.25 is not GELU", func(add func(string, Op, ...*Value) *Value, c func(float64) *Value, x *Value) *Value {
			e := add("erf", Unary{Func: Erf}, add("div", Binary{Div}, x, c(sqrt2f)))
			return add("half", Binary{Mul}, add("mul", Binary{Mul}, x, add("add", Binary{Add}, e, c(1))), c(0.25))
		}, false},
		{"the erf is read outside", func(add func(string, Op, ...*Value) *Value, c func(float64) *Value, x *Value) *Value {
			e := add("erf", Unary{Func: Erf}, add("div", Binary{Div}, x, c(sqrt2f)))
			y := add("half", Binary{Mul}, add("mul", Binary{Mul}, x, add("add", Binary{Add}, e, c(1))), c(0.5))
			return add("leak", Binary{Add}, y, e)
		}, false},
		{"another value in place of x", func(add func(string, Op, ...*Value) *Value, c func(float64) *Value, x *Value) *Value {
			x2 := add("x2", Unary{Func: Tanh}, x)
			e := add("erf", Unary{Func: Erf}, add("div", Binary{Div}, x, c(sqrt2f)))
			return add("half", Binary{Mul}, add("mul", Binary{Mul}, x2, add("add", Binary{Add}, e, c(1))), c(0.5))
		}, false},
	}
	for _, tc := range cases {
		rng := rand.New(rand.NewPCG(5, 6))
		b := NewBuilder("x", Shape{Batch, 4, 6})
		add := func(name string, op Op, in ...*Value) *Value {
			v, err := b.Add(name, op, nil, in...)
			if err != nil {
				t.Fatalf("%s: %s: %v", tc.name, name, err)
			}
			return v
		}
		scalar := func(v float64) *Value { return b.Const("c", &Tensor{Shape: []int{}, Data: []float64{v}}) }
		// The GELU's input is read by the pattern twice and by nothing else.
		x := add("pre", Unary{Func: Tanh}, b.Input())
		y := tc.build(add, scalar, x)
		out, err := b.Add("flat", Reshape{}, Shape{Batch, 24}, y)
		if err != nil {
			t.Fatal(err)
		}
		in := NewTensor(3, 4, 6)
		for i := range in.Data {
			in.Data[i] = rng.NormFloat64() * 3
		}
		g := finishAndCompare(t, tc.name, b, out, in, 1e-7, 1e-15)
		k := kinds(g)
		if tc.fused && (k["Gelu"] != 1 || k["Erf"] != 0 || k["Mul"] != 0 || k["Add"] != 0 || k["Div"] != 0) {
			t.Errorf("%s: not fused: %v", tc.name, k)
		}
		if !tc.fused && (k["Gelu"] != 0 || k["Erf"] != 1) {
			t.Errorf("%s: fused although it is not an exact GELU: %v", tc.name, k)
		}
	}
}
