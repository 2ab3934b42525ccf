package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxRowsExact checks that the contiguous-row softmax gives the
// strided loop's bits, special values included.
func TestSoftmaxRowsExact(t *testing.T) {
	testSoftmaxRows[float32](t)
	testSoftmaxRows[float64](t)
}

func testSoftmaxRows[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, rows = 197, 12
	x := make([]T, n*rows)
	for i := range x {
		x[i] = T(rng.NormFloat64() * 4)
	}
	inf := math.Inf(1)
	x[0*n+5] = T(math.NaN())
	x[1*n+7] = T(inf)
	x[2*n+3], x[2*n+9] = T(inf), T(math.NaN())
	for k := range n {
		x[3*n+k] = T(-inf)
	}
	x[4*n+1] = T(-inf)
	x[5*n+11] = 80 // exp overflows without the max
	for _, log := range []bool{false, true} {
		want, got := make([]T, len(x)), make([]T, len(x))
		softmaxStrided(log, x, want, n, 1, 0, rows)
		SoftmaxForward(log, x, got, n, 1, 0, rows)
		for i := range want {
			if !same(float64(got[i]), float64(want[i])) {
				t.Fatalf("%T log=%v: element %d (row %d) is %v, the strided loop gives %v", x[0], log, i, i/n, got[i], want[i])
			}
		}
	}
}
