package kernels

import (
	"math"
	"testing"
)

// TestGeluTables measures the float32 kernels' GELU and its derivative
// against the exact formulas on a dense grid across and beyond the tables.
func TestGeluTables(t *testing.T) {
	const bound = 1e-10
	worstY, worstG, atY, atG := 0.0, 0.0, 0.0, 0.0
	for x := -12.0; x <= 12; x += 0.0000379 {
		phi, grad := geluExact(x)
		if e := math.Abs(geluFast(x)-x*phi) / math.Abs(x*phi); e > worstY {
			worstY, atY = e, x
		}
		// The derivative crosses 0 near x = −0.75: there its absolute error
		// counts, relative to the derivative's scale (at most 1.13).
		if e := math.Abs(geluGradFast(x)-grad) / max(math.Abs(grad), 1); e > worstG {
			worstG, atG = e, x
		}
	}
	t.Logf("GELU: worst relative error %.3g at %v; derivative %.3g at %v", worstY, atY, worstG, atG)
	if !(worstY <= bound) || !(worstG <= bound) {
		t.Errorf("GELU error %.3g at %v, derivative %.3g at %v: want ≤ %g", worstY, atY, worstG, atG, bound)
	}
	// Where the tables end, and the values they must not invent.
	for _, x := range []float64{geluLo, geluHi, math.Nextafter(geluHi, 0), 0, math.Copysign(0, -1), 1e-300} {
		phi, grad := geluExact(x)
		if y := geluFast(x); math.Abs(y-x*phi) > bound*math.Abs(x*phi) {
			t.Errorf("GELU(%v) = %v, want %v", x, y, x*phi)
		}
		if g := geluGradFast(x); math.Abs(g-grad) > bound {
			t.Errorf("GELU'(%v) = %v, want %v", x, g, grad)
		}
	}
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		phi, grad := geluExact(x)
		y, g := geluFast(x), geluGradFast(x)
		if !same(y, x*phi) || !same(g, grad) {
			t.Errorf("at %v: GELU %v and GELU' %v, want %v and %v", x, y, g, x*phi, grad)
		}
	}
}

// same reports whether a and b are equal or both NaN.
func same(a, b float64) bool { return a == b || (a != a && b != b) }

func BenchmarkGelu(b *testing.B) {
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = -5 + 10*float64(i)/float64(len(xs))
	}
	ys := make([]float64, len(xs))
	run := func(name string, loop func()) {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				loop()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/value")
		})
	}
	run("math.Erf", func() {
		for i, x := range xs {
			ys[i] = 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
		}
	})
	run("table", func() {
		for i, x := range xs {
			ys[i] = geluFast(x)
		}
	})
	run("grad/math", func() {
		for i, x := range xs {
			ys[i] = 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
		}
	})
	run("grad/table", func() {
		for i, x := range xs {
			ys[i] = geluGradFast(x)
		}
	})
}
