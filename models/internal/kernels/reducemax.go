package kernels

// ReduceExtremeForward computes the maximum (or with min the minimum) of x
// over the axes that out's strides zero, into y, and in arg the flat index
// in x of the first extreme element in row-major order.
func ReduceExtremeForward[T Float](min bool, x, y []T, arg []int, xShape []int, out Strided) {
	for j := range arg {
		arg[j] = -1
	}
	v := Strided{Shape: xShape, Strides: out.Strides}
	v.runs(func(d, s, n, st int) {
		for i := 0; i < n; i++ {
			o, val := s+i*st, x[d+i]
			if arg[o] < 0 || (!min && val > y[o]) || (min && val < y[o]) {
				y[o], arg[o] = val, d+i
			}
		}
	})
}

// ReduceExtremeBackward sends each output gradient to the element that
// ReduceExtremeForward chose; the others get 0.
func ReduceExtremeBackward[T Float](dy, dx []T, arg []int) {
	clear(dx)
	for j, a := range arg {
		dx[a] += dy[j]
	}
}
