package attacks

import (
	"math"
	"testing"
)

// TestFABProjectionsGolden: the three projections agree with the authors'
// reference code (testdata/gen_fab_golden.py) on problems reachable inside
// the box and out of reach, with coordinates at the bounds and w = 0.
func TestFABProjectionsGolden(t *testing.T) {
	ta, wa, ba := golden(t, "fab", "t"), golden(t, "fab", "w"), golden(t, "fab", "b")
	n, d := ta.Shape[0], ta.Shape[1]
	tv, wv, bv := ta.Float32s(), wa.Float32s(), ba.Float32s()
	var sc fabScratch
	for name, f := range map[string]func(d, t, w []float32, b, lo, hi float64, sc *fabScratch){
		"linf": fabProjectLinf, "l2": fabProjectL2, "l1": fabProjectL1,
	} {
		want := golden(t, "fab", name).Float64s()
		got := make([]float32, d)
		for i := 0; i < n; i++ {
			f(got, tv[i*d:(i+1)*d], wv[i*d:(i+1)*d], float64(bv[i]), 0, 1, &sc)
			for j := range got {
				if w := want[i*d+j]; math.Abs(float64(got[j])-w) > 1e-5 {
					t.Fatalf("%s problem %d coordinate %d: %v, reference %v", name, i, j, got[j], w)
				}
			}
		}
	}
}

// TestFABProjectionsReach: where the hyperplane is reachable inside the box,
// t + δ lies on it and in the box; the L∞ projection is no longer than the
// common step that reaches it, and a box [lo, hi] other than [0, 1] gives
// the [0, 1] answer scaled.
func TestFABProjectionsReach(t *testing.T) {
	ta, wa, ba := golden(t, "fab", "t"), golden(t, "fab", "w"), golden(t, "fab", "b")
	n, d := ta.Shape[0], ta.Shape[1]
	tv, wv, bv := ta.Float32s(), wa.Float32s(), ba.Float32s()
	var sc fabScratch
	reached := 0
	for name, f := range map[string]func(d, t, w []float32, b, lo, hi float64, sc *fabScratch){
		"linf": fabProjectLinf, "l2": fabProjectL2, "l1": fabProjectL1,
	} {
		got := make([]float32, d)
		scaled, ts := make([]float32, d), make([]float32, d)
		for i := 0; i < n; i++ {
			ti, wi, bi := tv[i*d:(i+1)*d], wv[i*d:(i+1)*d], float64(bv[i])
			f(got, ti, wi, bi, 0, 1, &sc)
			dot, lo, hi := 0.0, 0.0, 0.0 // ⟨w, t+δ⟩ and its reachable range in the box
			for j := range got {
				v := float64(ti[j] + got[j])
				if v < -1e-6 || v > 1+1e-6 {
					t.Fatalf("%s problem %d: coordinate %d leaves the box: %v", name, i, j, v)
				}
				dot += float64(wi[j]) * v
				lo += math.Min(0, float64(wi[j]))
				hi += math.Max(0, float64(wi[j]))
			}
			if bi > lo && bi < hi {
				reached++
				if math.Abs(dot-bi) > 1e-4*(1+math.Abs(bi)) {
					t.Errorf("%s problem %d: ⟨w, t+δ⟩ = %v, want %v", name, i, dot, bi)
				}
			}
			// The same problem in the box [−1, 3]: coordinates scaled by 4, shifted by −1.
			for j := range ts {
				ts[j] = 4*ti[j] - 1
			}
			sw := 0.0
			for j := range ts {
				sw += float64(wi[j])
			}
			f(scaled, ts, wi, 4*bi-sw, -1, 3, &sc)
			for j := range got {
				if math.Abs(float64(scaled[j])-4*float64(got[j])) > 1e-4 {
					t.Fatalf("%s problem %d: box [−1, 3] gives %v at %d, want 4×%v", name, i, scaled[j], j, got[j])
				}
			}
		}
	}
	if reached == 0 {
		t.Fatal("no problem is reachable: the test checks nothing")
	}
}
