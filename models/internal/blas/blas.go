// Package blas is the matrix-multiply backend of the engine: OpenBLAS through
// cgo when built with the openblas tag, gonum's pure-Go BLAS otherwise. All
// matrices are row-major.
//
// Both backends run single-threaded per call: the engine parallelises over
// samples itself, so BLAS threads never compete with its workers for cores.
package blas

// Gemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices, where
// op(a) is m×k and op(b) is k×n; op transposes when ta (tb) is set.
func Gemm[T float32 | float64](ta, tb bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		// Only c's scaling is left; BLAS implementations disagree on k = 0.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = 0
				} else {
					row[j] *= beta
				}
			}
		}
		return
	}
	switch a := any(a).(type) {
	case []float32:
		sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// Backend names the BLAS in use, e.g. "openblas 0.3.21 (pthread)" or "gonum (pure Go)".
func Backend() string { return backend() }
