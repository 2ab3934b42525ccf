package kernels

import (
	"math"
	"testing"
)

// checkRelErr fails t when got is more than bound away from want, relative
// to want, anywhere on the grids {lo, hi, step} (NaN counts as too far), and
// logs the worst point.
func checkRelErr(t *testing.T, got, want func(float64) float64, bound float64, grids ...[3]float64) {
	t.Helper()
	worst, at := 0.0, 0.0
	for _, g := range grids {
		for x := g[0]; x <= g[1]; x += g[2] {
			w := want(x)
			if e := math.Abs(got(x)-w) / w; e > worst || e != e {
				worst, at = e, x
			}
		}
	}
	t.Logf("worst relative error %.3g at %v", worst, at)
	if !(worst <= bound) {
		t.Errorf("relative error %.3g at %v, want ≤ %g", worst, at, bound)
	}
}

// TestExpNeg measures the float32 softmax's exp against math.Exp on a dense
// grid of [−708, 0] and checks its special values.
func TestExpNeg(t *testing.T) {
	// The second grid is near 0, where eˣ ≈ 1 + x.
	checkRelErr(t, expNeg, math.Exp, 1e-13, [3]float64{-708, 0, 0.000731}, [3]float64{-1e-3, 0, 1.1e-9})
	for _, c := range []struct{ x, want float64 }{
		{0, 1}, {math.Copysign(0, -1), 1}, {-709, 0}, {-1e300, 0}, {math.Inf(-1), 0},
	} {
		if got := expNeg(c.x); got != c.want {
			t.Errorf("expNeg(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := expNeg(math.NaN()); !math.IsNaN(got) {
		t.Errorf("expNeg(NaN) = %v, want NaN", got)
	}
}

// TestSigmoidFast measures the float32 kernels' sigmoid against the float64
// kernels' 1/(1 + e⁻ˣ) on a dense grid, and checks its special values.
func TestSigmoidFast(t *testing.T) {
	sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	checkRelErr(t, sigmoidFast, sigmoid, 2e-13, [3]float64{-700, 750, 0.000913})
	for _, c := range []struct{ x, want float64 }{
		{0, 0.5}, {math.Inf(1), 1}, {math.Inf(-1), 0}, {800, 1}, {-800, 0},
	} {
		if got := sigmoidFast(c.x); got != c.want {
			t.Errorf("sigmoidFast(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := sigmoidFast(math.NaN()); !math.IsNaN(got) {
		t.Errorf("sigmoidFast(NaN) = %v, want NaN", got)
	}
}

func BenchmarkExpNeg(b *testing.B) {
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = -20 * float64(i) / float64(len(xs))
	}
	ys := make([]float64, len(xs))
	b.Run("math.Exp", func(b *testing.B) {
		for range b.N {
			for i, x := range xs {
				ys[i] = math.Exp(x)
			}
		}
	})
	b.Run("expNeg", func(b *testing.B) {
		for range b.N {
			for i, x := range xs {
				ys[i] = expNeg(x)
			}
		}
	})
	b.Run("sigmoid/math.Exp", func(b *testing.B) {
		for range b.N {
			for i, x := range xs {
				ys[i] = 1 / (1 + math.Exp(x+10))
			}
		}
	})
	b.Run("sigmoid/expNeg", func(b *testing.B) {
		for range b.N {
			for i, x := range xs {
				ys[i] = sigmoidFast(-x - 10)
			}
		}
	})
}
