package kernels

// Strided describes a view of a buffer: element index[d] of Shape lives at
// Offset + Σ index[d]·Strides[d].
type Strided struct {
	Shape   []int
	Strides []int
	Offset  int
}

// ContiguousStrides returns the C-order strides of shape.
func ContiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// runs calls fn(dst, src, n, stride) for each run along the last axis of v,
// where dst counts contiguous output positions and src the view's offsets.
func (v Strided) runs(fn func(dst, src, n, stride int)) {
	r := len(v.Shape)
	if r == 0 {
		fn(0, v.Offset, 1, 0)
		return
	}
	last := v.Shape[r-1]
	total := prodInts(v.Shape[:r-1])
	if last == 0 || total == 0 {
		return
	}
	idx := make([]int, r-1)
	src := v.Offset
	for o := 0; o < total; o++ {
		fn(o*last, src, last, v.Strides[r-1])
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			src += v.Strides[d]
			if idx[d] < v.Shape[d] {
				break
			}
			src -= idx[d] * v.Strides[d]
			idx[d] = 0
		}
	}
}

// Gather copies the view v of src into the contiguous dst.
func Gather[T Float](dst []T, src []T, v Strided) {
	v.runs(func(d, s, n, st int) {
		if st == 1 {
			copy(dst[d:d+n], src[s:s+n])
			return
		}
		for i := 0; i < n; i++ {
			dst[d+i] = src[s+i*st]
		}
	})
}

// Scatter copies the contiguous src into the view v of dst.
func Scatter[T Float](dst []T, v Strided, src []T) {
	v.runs(func(d, s, n, st int) {
		if st == 1 {
			copy(dst[s:s+n], src[d:d+n])
			return
		}
		for i := 0; i < n; i++ {
			dst[s+i*st] = src[d+i]
		}
	})
}

// Fill sets every element of x to v.
func Fill[T Float](x []T, v T) {
	for i := range x {
		x[i] = v
	}
}
