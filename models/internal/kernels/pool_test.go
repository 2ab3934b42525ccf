package kernels

import (
	"math"
	"testing"
)

// Ties go to the first maximum in row-major order (PyTorch's rule, which
// decides where MNIST's flat zero background sends the gradient), and NaN
// always wins, in both the 2×2 fast path and the general path.
func TestMaxPoolTiesAndNaN(t *testing.T) {
	nan := float32(math.NaN())
	x := []float32{
		0, 0, 5, 1,
		0, 0, 5, 5,
		1, nan, 2, 2,
		3, 3, 2, 9,
	}
	fast := PoolGeom{H: 4, W: 4, OH: 2, OW: 2, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}
	general := fast
	general.PB = 1 // a pad defeats the fast path without changing the windows
	for name, g := range map[string]PoolGeom{"2x2": fast, "general": general} {
		y, arg := make([]float32, 4), make([]int32, 4)
		MaxPoolForward(g, x, y, arg, 0, 1)
		wantArg := []int32{0, 2, 9, 15}
		for i := range wantArg {
			if arg[i] != wantArg[i] {
				t.Errorf("%s: arg %v, want %v", name, arg, wantArg)
				break
			}
		}
		if y[0] != 0 || y[1] != 5 || y[2] == y[2] || y[3] != 9 {
			t.Errorf("%s: y %v", name, y)
		}
	}
}
