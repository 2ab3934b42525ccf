package engine

import (
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// broadcastConst returns a Concat's constant input c (of shape s) broadcast
// to the output shape out except along axis: a constant expanded to the
// batch keeps a batch axis of 1 in the IR.
func broadcastConst[T Float](c *ir.Tensor, s, out []int, axis int) []T {
	full := append([]int(nil), out...)
	full[axis] = s[axis]
	if prodInts(full) == c.Len() {
		return constData[T](c)
	}
	y := make([]T, prodInts(full))
	data := c.Float64s()
	cs := kernels.ContiguousStrides(s)
	idx := make([]int, len(full))
	for i := range y {
		r := i
		for d := len(full) - 1; d >= 0; d-- {
			idx[d] = r % full[d]
			r /= full[d]
		}
		off := 0
		for d := range full {
			if s[d] != 1 {
				off += idx[d] * cs[d]
			}
		}
		y[i] = T(data[off])
	}
	return y
}
