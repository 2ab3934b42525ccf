package blas

import (
	"math/rand/v2"
	"testing"
)

// naive is the textbook triple loop.
func naive(ta, tb bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for l := 0; l < k; l++ {
				var av, bv float64
				if ta {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if tb {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += av * bv
			}
			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
		}
	}
}

func TestGemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, n, k int }{{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 10, 128}, {5, 4, 0}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				lda, ldb := tc.k, tc.n
				if ta {
					lda = tc.m
				}
				if tb {
					ldb = tc.k
				}
				a := make([]float64, tc.m*tc.k+1)
				b := make([]float64, tc.k*tc.n+1)
				c := make([]float64, tc.m*tc.n)
				for i := range a {
					a[i] = rng.NormFloat64()
				}
				for i := range b {
					b[i] = rng.NormFloat64()
				}
				for i := range c {
					c[i] = rng.NormFloat64()
				}
				want := append([]float64(nil), c...)
				naive(ta, tb, tc.m, tc.n, tc.k, 0.5, a, max(lda, 1), b, max(ldb, 1), 2, want, tc.n)
				got := append([]float64(nil), c...)
				Gemm(ta, tb, tc.m, tc.n, tc.k, 0.5, a, max(lda, 1), b, max(ldb, 1), 2, got, tc.n)
				got32 := make([]float32, len(c))
				a32, b32 := make([]float32, len(a)), make([]float32, len(b))
				for i := range a {
					a32[i] = float32(a[i])
				}
				for i := range b {
					b32[i] = float32(b[i])
				}
				for i := range c {
					got32[i] = float32(c[i])
				}
				Gemm(ta, tb, tc.m, tc.n, tc.k, 0.5, a32, max(lda, 1), b32, max(ldb, 1), 2, got32, tc.n)
				for i := range want {
					if d := got[i] - want[i]; d > 1e-12 || d < -1e-12 {
						t.Fatalf("%+v ta=%v tb=%v: float64 c[%d] = %v, want %v", tc, ta, tb, i, got[i], want[i])
					}
					if d := float64(got32[i]) - want[i]; d > 1e-4 || d < -1e-4 {
						t.Fatalf("%+v ta=%v tb=%v: float32 c[%d] = %v, want %v", tc, ta, tb, i, got32[i], want[i])
					}
				}
			}
		}
	}
}

func BenchmarkSgemm512(b *testing.B) {
	n := 512
	a, bb, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], bb[i] = float32(i%7), float32(i%5)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Gemm(false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
	}
	b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.Log(Backend())
}
