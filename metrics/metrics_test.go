package metrics

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWilson(t *testing.T) {
	// Reference values: statsmodels proportion_confint(k, n, method="wilson").
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		{50, 100, 0.4038315, 0.5961685},
		{0, 10, 0, 0.2775328},
		{10, 10, 0.7224672, 1},
	} {
		lo, hi := Wilson(c.k, c.n)
		if !near(lo, c.lo, 1e-6) || !near(hi, c.hi, 1e-6) {
			t.Errorf("Wilson(%d, %d) = [%v, %v], want [%v, %v]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
	// The Wilson bounds are the roots of n(p̂ − p)² = z²·p(1 − p).
	for _, c := range [][2]int{{981, 1000}, {3, 7}, {123, 456}} {
		k, n := c[0], c[1]
		ph := float64(k) / float64(n)
		lo, hi := Wilson(k, n)
		for _, p := range []float64{lo, hi} {
			if r := float64(n)*(ph-p)*(ph-p) - z95*z95*p*(1-p); math.Abs(r) > 1e-9 {
				t.Errorf("Wilson(%d, %d) bound %v leaves residual %v", k, n, p, r)
			}
		}
	}
	if lo, hi := Wilson(0, 0); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Error("Wilson(0, 0) is not NaN")
	}
}

func TestCosineAndKL(t *testing.T) {
	if c := Cosine([]float32{1, 0}, []float32{0, 2}); c != 0 {
		t.Errorf("orthogonal: %v", c)
	}
	if c := Cosine([]float32{1, 2}, []float32{-2, -4}); !near(c, -1, 1e-15) {
		t.Errorf("opposite: %v", c)
	}
	if c := Cosine([]float32{0, 0}, []float32{0, 0}); c != 1 {
		t.Errorf("both zero: %v", c)
	}
	if c := Cosine([]float32{0, 0}, []float32{1, 0}); c != 0 {
		t.Errorf("one zero: %v", c)
	}
	// KL of softmax([0, ln 3]) = (1/4, 3/4) against uniform: 1/4 ln(1/2) + 3/4 ln(3/2).
	want := 0.25*math.Log(0.5) + 0.75*math.Log(1.5)
	if k := KL([]float32{0, float32(math.Log(3))}, []float32{5, 5}); !near(k, want, 1e-7) {
		t.Errorf("KL = %v, want %v", k, want)
	}
	if k := KL([]float32{1, 2, 3}, []float32{1, 2, 3}); k != 0 {
		t.Errorf("KL of equal = %v", k)
	}
	// Underflowing probabilities stay finite.
	if k := KL([]float32{0, 200}, []float32{200, 0}); math.IsInf(k, 0) || math.IsNaN(k) || !near(k, 200, 1e-9) {
		t.Errorf("KL saturated = %v", k)
	}
}

// The three perturbation norms on a difference of (0.5, −0.25, 0, 1),
// exact in binary: L1 1.75, L2 √1.3125, L∞ 1.
func TestNorms(t *testing.T) {
	a := []float32{0.5, 0.25, 0.75, 1}
	b := []float32{0, 0.5, 0.75, 0}
	if got := L1(a, b); got != 1.75 {
		t.Errorf("L1 = %v, want 1.75", got)
	}
	if got := L2(a, b); got != math.Sqrt(1.3125) {
		t.Errorf("L2 = %v, want %v", got, math.Sqrt(1.3125))
	}
	if got := Linf(a, b); got != 1 {
		t.Errorf("Linf = %v, want 1", got)
	}
	if got := L1(a, a); got != 0 {
		t.Errorf("L1 of equal = %v", got)
	}
}

func TestPercentileAUCMcNemar(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3}
	// numpy.percentile([5,1,4,2,3], [0, 5, 50, 100]) = [1, 1.2, 3, 5]
	for q, want := range map[float64]float64{0: 1, 5: 1.2, 50: 3, 100: 5} {
		if got := Percentile(v, q); !near(got, want, 1e-12) {
			t.Errorf("Percentile(%v) = %v, want %v", q, got, want)
		}
	}
	if v[0] != 5 {
		t.Error("Percentile sorted its input")
	}
	// Accuracy 1 → 0 linearly over [0, 0.3]: mean height 0.5.
	if a := AUC([]float64{0.3, 0, 0.1, 0.2}, []float64{0, 1, 2.0 / 3, 1.0 / 3}); !near(a, 0.5, 1e-12) {
		t.Errorf("AUC = %v", a)
	}
	// scipy.stats.binomtest(8, 10, alternative="greater").pvalue = 0.0546875
	if p := McNemarOneSided(8, 2); !near(p, 0.0546875, 1e-12) {
		t.Errorf("McNemar(8, 2) = %v", p)
	}
	if p := McNemarOneSided(0, 0); p != 1 {
		t.Errorf("McNemar(0, 0) = %v", p)
	}
	if p := McNemarOneSided(40, 10); p > 1e-4 {
		t.Errorf("McNemar(40, 10) = %v, want a small p", p)
	}
}
