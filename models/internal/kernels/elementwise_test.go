package kernels

import (
	"math"
	"testing"
)

// kinkCase is a function's derivative at points where it is not
// differentiable (or where p·x^(p-1) is undefined), as PyTorch 1.13's
// autograd gives it in float64:
//
//	x = torch.tensor([...], dtype=torch.float64, requires_grad=True)
//	f(x).sum().backward(); x.grad
type kinkCase struct {
	name string
	u    Unary
	x    []float64
	want []float64
}

// torchSixth is 1/6 rounded to float32: the alpha that PyTorch writes into an
// exported HardSigmoid, and the slope its own hardsigmoid_backward uses.
const torchSixth = float64(float32(1.0 / 6))

var kinkCases = []kinkCase{
	// F.hardswish: the middle piece x/3 + 1/2 holds on the closed [-3, 3].
	{"hardswish", Unary{Kind: HardSwish}, []float64{-3, 3, -3.5, 3.5, 0}, []float64{-0.5, 1.5, 0, 1, 0.5}},
	// F.hardsigmoid: slope 1/6 strictly inside (-3, 3), 0 at ±3.
	{"hardsigmoid", Unary{Kind: HardSigmoid, Alpha: torchSixth, Beta: 0.5}, []float64{-3, 3, 0, -4, 4}, []float64{0, 0, torchSixth, 0, 0}},
	// torch.clamp(x, 0, 6) passes the gradient at both bounds. nn.ReLU6
	// (a Hardtanh, 0 at both bounds in torch) exports as the same Clip, so
	// it differs at exactly 0 and 6 (docs/engine.md says why clamp's rule
	// is kept); F.relu6 exports as Relu → Clip, and Relu'(0) = 0 as in torch.
	{"clip/clamp", Unary{Kind: Clip, Min: 0, Max: 6}, []float64{0, 6, -1, 7}, []float64{1, 1, 0, 0}},
	{"relu", Unary{Kind: Relu}, []float64{0, 1, -1}, []float64{0, 1, 0}},
	// x.pow(2), x.pow(0) and torch.sqrt at 0.
	{"pow/2", Unary{Kind: Pow, Alpha: 2}, []float64{0, -3}, []float64{0, -6}},
	{"pow/0", Unary{Kind: Pow, Alpha: 0}, []float64{0, 2}, []float64{0, 0}},
	{"sqrt", Unary{Kind: Sqrt}, []float64{0, 4}, []float64{math.Inf(1), 0.25}},
	// F.gelu, exact and approximate="tanh".
	{"gelu", Unary{Kind: Gelu}, []float64{0, -3, 3}, []float64{0.5, -0.01194564720418392, 1.011945647204184}},
	{"gelu/tanh", Unary{Kind: GeluTanh}, []float64{0, -3, 3}, []float64{0.5, -0.011584166630969648, 1.0115841666309695}},
}

func checkKinks[T Float](t *testing.T, tol float64) {
	for _, c := range kinkCases {
		x := make([]T, len(c.x))
		for i, v := range c.x {
			x[i] = T(v)
		}
		y, dy, dx := make([]T, len(x)), make([]T, len(x)), make([]T, len(x))
		for i := range dy {
			dy[i] = 1
		}
		UnaryForward(c.u, x, y)
		UnaryBackward(c.u, x, y, dy, dx)
		for i, want := range c.want {
			got := float64(dx[i])
			if math.IsInf(want, 0) && got == want {
				continue
			}
			if math.Abs(got-want) > tol*max(1, math.Abs(want)) {
				t.Errorf("%s'(%v) = %v, want PyTorch's %v", c.name, c.x[i], got, want)
			}
		}
	}
}

// TestUnaryKinksMatchPyTorch checks the derivative conventions at the kinks,
// which finite differences cannot test, in both precisions.
func TestUnaryKinksMatchPyTorch(t *testing.T) {
	t.Run("float64", func(t *testing.T) { checkKinks[float64](t, 1e-15) })
	t.Run("float32", func(t *testing.T) { checkKinks[float32](t, 1e-7) })
}
