package corruption

import (
	"math/rand/v2"
	"testing"
)

// TestFilter2D compares filter2D with the definition (correlation,
// reflect-101 borders) for a symmetric kernel (the fast path) and an
// asymmetric one.
func TestFilter2D(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const h, w = 13, 9
	p := make([]float64, h*w)
	for i := range p {
		p[i] = r.Float64()
	}
	sym, n := diskKernel(3, 0.5)
	if !symmetric(sym, n, n) {
		t.Fatal("disk kernel not symmetric")
	}
	asym := make([]float64, 5*3)
	for i := range asym {
		asym[i] = r.Float64()
	}
	for _, tc := range []struct {
		k      []float64
		kh, kw int
	}{{sym, n, n}, {asym, 5, 3}} {
		got := filter2D(p, h, w, tc.k, tc.kh, tc.kw)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				want := 0.0
				for i := 0; i < tc.kh; i++ {
					for j := 0; j < tc.kw; j++ {
						want += tc.k[i*tc.kw+j] * p[reflect101.index(y+i-tc.kh/2, h)*w+reflect101.index(x+j-tc.kw/2, w)]
					}
				}
				if !near(got[y*w+x], want, 1e-13) {
					t.Fatalf("%d×%d kernel at (%d, %d): %g, want %g", tc.kh, tc.kw, y, x, got[y*w+x], want)
				}
			}
		}
	}
	// every severity's disk takes the fast path
	for _, p := range [][2]float64{{0.3, 0.4}, {0.4, 0.5}, {0.5, 0.6}, {1, 0.2}, {1.5, 0.1}, {3, 0.1}, {4, 0.5}, {6, 0.5}, {8, 0.5}, {10, 0.5}} {
		if k, n := diskKernel(p[0], p[1]); !symmetric(k, n, n) {
			t.Errorf("disk(%g, %g) not symmetric", p[0], p[1])
		}
	}
}

func TestBorderIndex(t *testing.T) {
	// n = 4: a b c d
	for _, tc := range []struct {
		b    border
		want []int // for i = -6 … 9
	}{
		{nearest, []int{0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3, 3}},
		{reflect, []int{2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1}},
		{reflect101, []int{0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3}},
	} {
		for i := -6; i <= 9; i++ {
			if got := tc.b.index(i, 4); got != tc.want[i+6] {
				t.Errorf("border %d: index(%d, 4) = %d, want %d", tc.b, i, got, tc.want[i+6])
			}
		}
	}
}
