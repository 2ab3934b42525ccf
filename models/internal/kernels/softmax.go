package kernels

import "math"

// SoftmaxForward computes softmax (or log-softmax) over the middle axis of x
// viewed as outer×n×inner, for outer rows [lo, hi).
func SoftmaxForward[T Float](log bool, x, y []T, n, inner, lo, hi int) {
	if inner == 1 {
		softmaxRows(log, x, y, n, lo, hi)
		return
	}
	softmaxStrided(log, x, y, n, inner, lo, hi)
}

// softmaxStrided is SoftmaxForward over any axis.
func softmaxStrided[T Float](log bool, x, y []T, n, inner, lo, hi int) {
	for o := lo; o < hi; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			m := math.Inf(-1)
			for k := 0; k < n; k++ {
				m = math.Max(m, float64(x[base+k*inner]))
			}
			s := 0.0
			for k := 0; k < n; k++ {
				s += softmaxExp[T](float64(x[base+k*inner]) - m)
			}
			ls := math.Log(s)
			for k := 0; k < n; k++ {
				v := float64(x[base+k*inner]) - m
				if log {
					y[base+k*inner] = T(v - ls)
				} else {
					y[base+k*inner] = T(softmaxExp[T](v) / s)
				}
			}
		}
	}
}

// softmaxExp is eˣ for x ≤ 0: math.Exp for float64 results, expNeg (within
// 1e-13 of it, twice as fast) for float32 ones.
func softmaxExp[T Float](x float64) float64 {
	if isFloat32[T]() {
		return expNeg(x)
	}
	return math.Exp(x)
}

// softmaxRows is SoftmaxForward over contiguous rows (the last axis, as in
// attention), with the same arithmetic: each exp is computed once and kept
// in float64 for the division.
func softmaxRows[T Float](log bool, x, y []T, n, lo, hi int) {
	var e []float64
	if !log {
		e = make([]float64, n)
	}
	for o := lo; o < hi; o++ {
		row, out := x[o*n:(o+1)*n], y[o*n:(o+1)*n]
		m := math.Inf(-1)
		for _, v := range row {
			// The maximum, or NaN if the row holds one (math.Max would
			// give +Inf if the row also held +Inf; every output is NaN
			// either way, as TestSoftmaxRowsExact checks).
			if f := float64(v); f > m || f != f {
				m = f
				if f != f {
					break
				}
			}
		}
		s := 0.0
		if log {
			for _, v := range row {
				s += softmaxExp[T](float64(v) - m)
			}
			ls := math.Log(s)
			for k, v := range row {
				out[k] = T(float64(v) - m - ls)
			}
			continue
		}
		for k, v := range row {
			ek := softmaxExp[T](float64(v) - m)
			e[k] = ek
			s += ek
		}
		for k, ek := range e {
			out[k] = T(ek / s)
		}
	}
}

// SoftmaxBackward computes dx from the output y and dy for rows [lo, hi):
// softmax: dx = y·(dy − Σ dy·y); log-softmax: dx = dy − exp(y)·Σ dy.
func SoftmaxBackward[T Float](log bool, y, dy, dx []T, n, inner, lo, hi int) {
	for o := lo; o < hi; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			s := 0.0
			for k := 0; k < n; k++ {
				i := base + k*inner
				if log {
					s += float64(dy[i])
				} else {
					s += float64(dy[i]) * float64(y[i])
				}
			}
			for k := 0; k < n; k++ {
				i := base + k*inner
				if log {
					dx[i] = T(float64(dy[i]) - math.Exp(float64(y[i]))*s)
				} else {
					dx[i] = T(float64(y[i]) * (float64(dy[i]) - s))
				}
			}
		}
	}
}

// ReduceForward sums (or averages, scale = 1/count) x into y, where out
// maps x's layout onto y's: a view of y with stride 0 on reduced axes.
func ReduceForward[T Float](x, y []T, xShape []int, out Strided, scale T) {
	clear(y)
	v := Strided{Shape: xShape, Strides: out.Strides}
	v.runs(func(d, s, n, st int) {
		for i := 0; i < n; i++ {
			y[s+i*st] += x[d+i]
		}
	})
	if scale != 1 {
		for i := range y {
			y[i] *= scale
		}
	}
}

// ReduceBackward broadcasts dy back over x's layout, times scale.
func ReduceBackward[T Float](dy, dx []T, xShape []int, out Strided, scale T) {
	v := Strided{Shape: xShape, Strides: out.Strides}
	v.runs(func(d, s, n, st int) {
		for i := 0; i < n; i++ {
			dx[d+i] = dy[s+i*st] * scale
		}
	})
}
