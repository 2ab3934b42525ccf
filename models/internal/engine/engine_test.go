package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// opCase builds a graph around one op (or a small pattern) on a random input.
type opCase struct {
	name  string
	input ir.Shape
	build func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error)
}

func randTensor(rng *rand.Rand, scale float64, shape ...int) *ir.Tensor {
	t := ir.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64() * scale
	}
	return t
}

// flatten reshapes v to [N×rest] so that it can serve as logits.
func flatten(b *ir.Builder, v *ir.Value) (*ir.Value, error) {
	if len(v.Shape) == 2 && v.Shape[0] == ir.Batch {
		return v, nil
	}
	return b.Add("flatten", ir.Reshape{}, ir.Shape{ir.Batch, v.Shape.PerSample()}, v)
}

func conv(k [2]int, st, dil [2]int, pads [4]int, group, m int) func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
	return func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		c := b.Input().Shape[1]
		w := b.Const("w", randTensor(rng, 0.5, m, c/group, k[0], k[1]))
		bias := b.Const("b", randTensor(rng, 0.5, m))
		y, err := b.Add("conv", ir.Conv{Kernel: k, Strides: st, Dilations: dil, Pads: pads, Group: group}, nil, b.Input(), w, bias)
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}
}

func single(op ir.Op, consts ...*ir.Tensor) func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
	return func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		in := []*ir.Value{b.Input()}
		for i, c := range consts {
			in = append(in, b.Const("c"+string(rune('0'+i)), c))
		}
		y, err := b.Add("op", op, nil, in...)
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}
}

// after applies pre (with the constant c as its second input, if any) and
// then op: a scale before a kinked function spreads the random inputs over
// its pieces, an Exp keeps them in a function's positive domain.
func after(pre ir.Op, c *ir.Tensor, op ir.Op) func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
	return func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		in := []*ir.Value{b.Input()}
		if c != nil {
			in = append(in, b.Const("c", c))
		}
		p, err := b.Add("pre", pre, nil, in...)
		if err != nil {
			return nil, err
		}
		y, err := b.Add("op", op, nil, p)
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}
}

func constOf(shape []int, vals ...float64) *ir.Tensor {
	t := ir.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = vals[i%len(vals)]
	}
	return t
}

var one2 = [2]int{1, 1}

var cases = []opCase{
	{"conv3x3/pad1", ir.Shape{ir.Batch, 3, 7, 6}, conv([2]int{3, 3}, one2, one2, [4]int{1, 1, 1, 1}, 1, 4)},
	{"conv/asym-pads", ir.Shape{ir.Batch, 2, 7, 6}, conv([2]int{3, 3}, one2, one2, [4]int{0, 1, 2, 1}, 1, 3)},
	{"conv/stride2-dil2", ir.Shape{ir.Batch, 2, 9, 8}, conv([2]int{3, 3}, [2]int{2, 2}, [2]int{2, 2}, [4]int{1, 2, 1, 0}, 1, 3)},
	{"conv/rect-3x1-stride(1,2)", ir.Shape{ir.Batch, 2, 7, 7}, conv([2]int{3, 1}, [2]int{1, 2}, one2, [4]int{1, 0, 1, 0}, 1, 2)},
	{"conv/depthwise", ir.Shape{ir.Batch, 3, 6, 6}, conv([2]int{3, 3}, one2, one2, [4]int{1, 1, 1, 1}, 3, 3)},
	{"conv/depthwise-x2", ir.Shape{ir.Batch, 3, 6, 6}, conv([2]int{3, 3}, [2]int{2, 2}, one2, [4]int{1, 1, 1, 1}, 3, 6)},
	{"conv/groups2", ir.Shape{ir.Batch, 4, 5, 5}, conv([2]int{2, 2}, one2, one2, [4]int{}, 2, 6)},
	{"conv/1x1", ir.Shape{ir.Batch, 4, 3, 5}, conv([2]int{1, 1}, one2, one2, [4]int{}, 1, 3)},
	{"conv/1x1-groups", ir.Shape{ir.Batch, 4, 3, 5}, conv([2]int{1, 1}, one2, one2, [4]int{}, 2, 4)},
	{"maxpool/2x2", ir.Shape{ir.Batch, 2, 6, 6}, single(ir.Pool{Max: true, Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Dilations: one2})},
	{"maxpool/3x3-s2-p1-ceil", ir.Shape{ir.Batch, 2, 8, 7}, single(ir.Pool{Max: true, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: one2, Pads: [4]int{1, 1, 1, 1}, CeilMode: true})},
	{"maxpool/dil2-asym", ir.Shape{ir.Batch, 2, 8, 8}, single(ir.Pool{Max: true, Kernel: [2]int{2, 3}, Strides: [2]int{1, 2}, Dilations: [2]int{2, 1}, Pads: [4]int{0, 1, 1, 2}})},
	{"avgpool/include-pad-ceil", ir.Shape{ir.Batch, 2, 7, 8}, single(ir.Pool{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: one2, Pads: [4]int{1, 1, 1, 1}, CeilMode: true, CountIncludePad: true})},
	{"avgpool/exclude-pad-ceil", ir.Shape{ir.Batch, 2, 7, 8}, single(ir.Pool{Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Dilations: one2, Pads: [4]int{1, 1, 1, 1}, CeilMode: true})},
	{"avgpool/asym", ir.Shape{ir.Batch, 1, 6, 7}, single(ir.Pool{Kernel: [2]int{2, 3}, Strides: [2]int{2, 1}, Dilations: one2, Pads: [4]int{0, 2, 1, 0}, CountIncludePad: true})},
	{"globalavgpool", ir.Shape{ir.Batch, 3, 4, 5}, single(ir.GlobalAvgPool{})},
	{"pad/asym", ir.Shape{ir.Batch, 2, 3, 4}, single(ir.Pad{Begin: []int{0, 1, 0, 2}, End: []int{0, 0, 3, 1}, Value: 0.5})},
	{"dense", ir.Shape{ir.Batch, 7}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		return b.Add("dense", ir.Dense{}, nil, b.Input(), b.Const("w", randTensor(rng, 0.5, 7, 5)), b.Const("b", randTensor(rng, 1, 5)))
	}},
	{"dense/3d", ir.Shape{ir.Batch, 3, 4}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		y, err := b.Add("dense", ir.Dense{}, nil, b.Input(), b.Const("w", randTensor(rng, 0.5, 4, 2)))
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}},
	{"matmul/dyn×dyn", ir.Shape{ir.Batch, 3, 4}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		xt, err := b.Add("t", ir.Transpose{Perm: []int{0, 2, 1}}, nil, b.Input())
		if err != nil {
			return nil, err
		}
		y, err := b.Add("mm", ir.MatMul{}, nil, b.Input(), xt)
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}},
	{"matmul/const×dyn", ir.Shape{ir.Batch, 4, 3}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		y, err := b.Add("mm", ir.MatMul{}, nil, b.Const("a", randTensor(rng, 1, 2, 4)), b.Input())
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}},
	{"add/per-channel", ir.Shape{ir.Batch, 3, 2, 2}, single(ir.Binary{Op: ir.Add}, constOf([]int{3, 1, 1}, 0.5, -1, 2))},
	{"sub/scalar", ir.Shape{ir.Batch, 3, 2, 2}, single(ir.Binary{Op: ir.Sub}, constOf([]int{}, 0.25))},
	{"mul/row", ir.Shape{ir.Batch, 3, 4}, single(ir.Binary{Op: ir.Mul}, constOf([]int{4}, 0.5, -1, 2, 3))},
	{"div/const", ir.Shape{ir.Batch, 2, 3}, single(ir.Binary{Op: ir.Div}, constOf([]int{2, 1}, 2, -0.5))},
	{"div/const-by-x", ir.Shape{ir.Batch, 2, 3}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		pos, err := b.Add("exp", ir.Unary{Func: ir.Exp}, nil, b.Input())
		if err != nil {
			return nil, err
		}
		y, err := b.Add("div", ir.Binary{Op: ir.Div}, nil, b.Const("c", constOf([]int{3}, 1, 2, -3)), pos)
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}},
	{"binary/dyn-broadcast", ir.Shape{ir.Batch, 3, 4, 4}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		// A squeeze-and-excitation pattern: x · sigmoid(gap(x)), and x − gap(x), x / (1 + gap²).
		gap, err := b.Add("gap", ir.GlobalAvgPool{}, nil, b.Input())
		if err != nil {
			return nil, err
		}
		s, err := b.Add("sig", ir.Unary{Func: ir.Sigmoid}, nil, gap)
		if err != nil {
			return nil, err
		}
		m, err := b.Add("mul", ir.Binary{Op: ir.Mul}, nil, b.Input(), s)
		if err != nil {
			return nil, err
		}
		d, err := b.Add("sub", ir.Binary{Op: ir.Sub}, nil, m, gap)
		if err != nil {
			return nil, err
		}
		sq, err := b.Add("sq", ir.Binary{Op: ir.Mul}, nil, gap, gap)
		if err != nil {
			return nil, err
		}
		den, err := b.Add("den", ir.Binary{Op: ir.Add}, nil, sq, b.Const("one", constOf([]int{}, 1)))
		if err != nil {
			return nil, err
		}
		y, err := b.Add("div", ir.Binary{Op: ir.Div}, nil, d, den)
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}},
	{"fan-out/residual", ir.Shape{ir.Batch, 2, 5, 5}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		c, err := conv([2]int{3, 3}, one2, one2, [4]int{1, 1, 1, 1}, 1, 2)(b, rng)
		if err != nil {
			return nil, err
		}
		back, err := b.Add("unflat", ir.Reshape{}, ir.Shape{ir.Batch, 2, 5, 5}, c)
		if err != nil {
			return nil, err
		}
		r, err := b.Add("tanh", ir.Unary{Func: ir.Tanh}, nil, back)
		if err != nil {
			return nil, err
		}
		y, err := b.Add("res", ir.Binary{Op: ir.Add}, nil, b.Input(), r)
		if err != nil {
			return nil, err
		}
		y2, err := b.Add("res2", ir.Binary{Op: ir.Mul}, nil, y, b.Input())
		if err != nil {
			return nil, err
		}
		return flatten(b, y2)
	}},
	{"relu", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Relu})},
	{"leakyrelu", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.LeakyRelu, Alpha: 0.1})},
	{"sigmoid", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Sigmoid})},
	{"tanh", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Tanh})},
	{"clip", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Clip, Min: -0.5, Max: 0.7})},
	{"abs", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Abs})},
	{"neg", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Neg})},
	{"exp", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Exp})},
	{"elu", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Elu, Alpha: 0.7})},
	{"softplus", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Softplus})},
	{"erf", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Erf})},
	{"hardsigmoid/torch", ir.Shape{ir.Batch, 16}, after(ir.Binary{Op: ir.Mul}, constOf([]int{}, 3), ir.Unary{Func: ir.HardSigmoid, Alpha: 1.0 / 6, Beta: 0.5})},
	{"hardsigmoid/onnx-default", ir.Shape{ir.Batch, 16}, after(ir.Binary{Op: ir.Mul}, constOf([]int{}, 3), ir.Unary{Func: ir.HardSigmoid, Alpha: 0.2, Beta: 0.5})},
	{"hardswish", ir.Shape{ir.Batch, 16}, after(ir.Binary{Op: ir.Mul}, constOf([]int{}, 3), ir.Unary{Func: ir.HardSwish})},
	{"relu6", ir.Shape{ir.Batch, 16}, after(ir.Binary{Op: ir.Mul}, constOf([]int{}, 4), ir.Unary{Func: ir.Clip, Min: 0, Max: 6})},
	{"gelu", ir.Shape{ir.Batch, 12}, after(ir.Binary{Op: ir.Mul}, constOf([]int{}, 2), ir.Unary{Func: ir.Gelu})},
	{"gelu/tanh", ir.Shape{ir.Batch, 12}, after(ir.Binary{Op: ir.Mul}, constOf([]int{}, 2), ir.Unary{Func: ir.GeluTanh})},
	{"pow/2", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Pow, Alpha: 2})},
	{"pow/3", ir.Shape{ir.Batch, 12}, single(ir.Unary{Func: ir.Pow, Alpha: 3})},
	{"pow/-1.5-positive", ir.Shape{ir.Batch, 12}, after(ir.Unary{Func: ir.Exp}, nil, ir.Unary{Func: ir.Pow, Alpha: -1.5})},
	{"sqrt/positive", ir.Shape{ir.Batch, 12}, after(ir.Unary{Func: ir.Exp}, nil, ir.Unary{Func: ir.Sqrt})},
	{"softmax/axis1-4d", ir.Shape{ir.Batch, 3, 2, 2}, single(ir.Softmax{Axis: 1})},
	{"logsoftmax/axis2", ir.Shape{ir.Batch, 2, 4}, single(ir.Softmax{Axis: 2, Log: true})},
	{"transpose/nhwc", ir.Shape{ir.Batch, 2, 3, 4}, single(ir.Transpose{Perm: []int{0, 2, 3, 1}})},
	{"transpose/batch-moves", ir.Shape{ir.Batch, 2, 3}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		t, err := b.Add("t1", ir.Transpose{Perm: []int{2, 0, 1}}, nil, b.Input())
		if err != nil {
			return nil, err
		}
		s, err := b.Add("sq", ir.Binary{Op: ir.Mul}, nil, t, t)
		if err != nil {
			return nil, err
		}
		back, err := b.Add("t2", ir.Transpose{Perm: []int{1, 2, 0}}, nil, s)
		if err != nil {
			return nil, err
		}
		return flatten(b, back)
	}},
	{"concat/const+dyn", ir.Shape{ir.Batch, 2, 3}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		sq, err := b.Add("sq", ir.Binary{Op: ir.Mul}, nil, b.Input(), b.Input())
		if err != nil {
			return nil, err
		}
		y, err := b.Add("cat", ir.Concat{Axis: 1}, nil, b.Input(), sq, b.Input())
		if err != nil {
			return nil, err
		}
		return flatten(b, y)
	}},
	{"slice/steps", ir.Shape{ir.Batch, 4, 7}, single(ir.Slice{Starts: []int{0, 3, 1}, Ends: []int{ir.Batch, 0, 7}, Steps: []int{1, -1, 2}})},
	{"reducemean/keepdims", ir.Shape{ir.Batch, 3, 4, 2}, single(ir.Reduce{Mean: true, Axes: []int{2, 3}, KeepDims: true})},
	{"reducesum", ir.Shape{ir.Batch, 3, 4}, single(ir.Reduce{Axes: []int{1}})},
}

func buildCase(t *testing.T, c opCase, batch int) (*ir.Graph, *ir.Tensor, []int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(len(c.name))))
	b := ir.NewBuilder("x", c.input)
	out, err := c.build(b, rng)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	g, err := b.Finish(out)
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	x := randTensor(rng, 1, c.input.Concrete(batch)...)
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(g.Classes)
	}
	return g, x, labels
}

// ceLoss is Σ_i CrossEntropy(logits_i, y_i) in float64 from the reference interpreter.
func ceLoss(t *testing.T, g *ir.Graph, x *ir.Tensor, labels []int) float64 {
	out, err := g.Eval(x)
	if err != nil {
		t.Fatal(err)
	}
	k := g.Classes
	s := 0.0
	for i, y := range labels {
		row := out.Data[i*k : (i+1)*k]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		e := 0.0
		for _, v := range row {
			e += math.Exp(v - m)
		}
		s += m + math.Log(e) - row[y]
	}
	return s
}

func relErr(got, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range want {
		d := got[i] - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func run[T Float](t *testing.T, g *ir.Graph, x *ir.Tensor, labels []int, withGrad bool) (logits, grad []float64) {
	t.Helper()
	p, err := Build[T](g, len(labels), withGrad)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer p.Close()
	for i, v := range x.Data {
		p.Input()[i] = T(v)
	}
	if err := p.Run(&Objective{Loss: kernels.CrossEntropy, Labels: labels}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, v := range p.Logits() {
		logits = append(logits, float64(v))
	}
	for _, v := range p.Grad() {
		grad = append(grad, float64(v))
	}
	return logits, grad
}

// TestOpsAgainstReference checks every op of the lowering: values against the
// float64 reference interpreter, input gradients (float64) against central
// finite differences of the interpreter, and the float32 engine against the
// float64 one.
func TestOpsAgainstReference(t *testing.T) {
	for _, c := range cases {
		for _, batch := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/batch%d", c.name, batch), func(t *testing.T) {
				g, x, labels := buildCase(t, c, batch)
				want, err := g.Eval(x)
				if err != nil {
					t.Fatal(err)
				}
				fwd64, _ := run[float64](t, g, x, labels, false)
				if e := relErr(fwd64, want.Data); e > 1e-12 {
					t.Errorf("float64 forward: relative error %.3g vs reference", e)
				}
				logits64, grad64 := run[float64](t, g, x, labels, true)
				if e := relErr(logits64, want.Data); e > 1e-12 {
					t.Errorf("float64 logits of the gradient program: relative error %.3g", e)
				}
				fd := make([]float64, len(x.Data))
				const h = 1e-6
				for i := range x.Data {
					v := x.Data[i]
					x.Data[i] = v + h
					up := ceLoss(t, g, x, labels)
					x.Data[i] = v - h
					down := ceLoss(t, g, x, labels)
					x.Data[i] = v
					fd[i] = (up - down) / (2 * h)
				}
				if e := relErr(grad64, fd); e > 1e-6 {
					t.Errorf("float64 input gradient: relative error %.3g vs finite differences\n got %.6g\nwant %.6g", e, grad64, fd)
				}
				logits32, grad32 := run[float32](t, g, x, labels, true)
				if e := relErr(logits32, want.Data); e > 1e-5 {
					t.Errorf("float32 logits: relative error %.3g", e)
				}
				if e := relErr(grad32, grad64); e > 1e-4 {
					t.Errorf("float32 input gradient: relative error %.3g vs float64", e)
				}
			})
		}
	}
}
