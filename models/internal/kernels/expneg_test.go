package kernels

import (
	"math"
	"testing"
)

// TestExpNeg measures the float32 softmax's exp against math.Exp on a dense
// grid of [−708, 0] and checks its special values.
func TestExpNeg(t *testing.T) {
	const bound = 1e-13
	worst, at := 0.0, 0.0
	for x := -708.0; x <= 0; x += 0.000731 {
		w := math.Exp(x)
		if e := math.Abs(expNeg(x)-w) / w; e > worst {
			worst, at = e, x
		}
	}
	for x := -1e-3; x <= 0; x += 1.1e-9 { // near 0, where eˣ ≈ 1 + x
		w := math.Exp(x)
		if e := math.Abs(expNeg(x)-w) / w; e > worst {
			worst, at = e, x
		}
	}
	t.Logf("worst relative error %.3g at %v", worst, at)
	if !(worst <= bound) {
		t.Errorf("relative error %.3g at %v, want ≤ %g", worst, at, bound)
	}
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
	const bound = 2e-13
	worst, at := 0.0, 0.0
	for x := -700.0; x <= 750; x += 0.000913 {
		w := 1 / (1 + math.Exp(-x))
		if e := math.Abs(sigmoidFast(x)-w) / w; e > worst {
			worst, at = e, x
		}
	}
	t.Logf("worst relative error %.3g at %v", worst, at)
	if !(worst <= bound) {
		t.Errorf("relative error %.3g at %v, want ≤ %g", worst, at, bound)
	}
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
