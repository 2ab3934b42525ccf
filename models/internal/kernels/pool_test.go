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

// Every pattern of exactly equal values in a window sends the window's
// gradient to the first tied element in row-major order, in the 2×2 fast
// path and the general path, for float32 and float64, including -0 == +0.
// The PyTorch goldens exclude the entries such ties reach (a BLAS kernel may
// round values that are equal in exact arithmetic a few ulps apart), so this
// pins the convention where the inputs are exactly equal.
func TestMaxPoolTiesGoToFirst(t *testing.T) {
	testMaxPoolTiesGoToFirst[float32](t)
	testMaxPoolTiesGoToFirst[float64](t)
}

func testMaxPoolTiesGoToFirst[T Float](t *testing.T) {
	fast := PoolGeom{H: 2, W: 2, OH: 1, OW: 1, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}
	general := fast
	general.PB = 1
	three := PoolGeom{H: 3, W: 3, OH: 1, OW: 1, KH: 3, KW: 3, SH: 3, SW: 3, DH: 1, DW: 1}
	for name, g := range map[string]PoolGeom{"2x2": fast, "general": general, "3x3": three} {
		k := g.H * g.W
		for set := 0; set < 1<<k; set++ {
			if bitsSet(set) < 2 {
				continue
			}
			for _, top := range []T{0, 1.5, -2} {
				x := make([]T, k)
				first := -1
				for i := range x {
					x[i] = top - 1
					if set&(1<<i) != 0 {
						x[i] = top
						if top == 0 && i%2 == 1 {
							x[i] = T(math.Copysign(0, -1)) // -0 ties with +0
						}
						if first < 0 {
							first = i
						}
					}
				}
				y, arg := make([]T, 1), make([]int32, 1)
				MaxPoolForward(g, x, y, arg, 0, 1)
				dx := make([]T, k)
				MaxPoolBackward(g, []T{1}, arg, dx, 0, 1)
				if y[0] != top || arg[0] != int32(first) || dx[first] != 1 {
					t.Errorf("%s %T: x %v: y %v arg %d dx %v, want y %v, gradient at %d", name, top, x, y[0], arg[0], dx, top, first)
				}
			}
		}
	}
}

func bitsSet(v int) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}
