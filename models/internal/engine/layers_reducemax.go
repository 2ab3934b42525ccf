package engine

import (
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// reduceMaxLayer is ReduceMax or ReduceMin: forward keeps the position of
// each extreme for backward.
type reduceMaxLayer[T Float] struct {
	min    bool
	xShape []int
	out    kernels.Strided
	outLen int
	arg    []int
}

func newReduceMaxLayer[T Float](in, out []int, op ir.ReduceMax) layer[T] {
	red := newReduceLayer[T](in, ir.Reduce{Axes: op.Axes, KeepDims: op.KeepDims}).(*reduceLayer[T])
	return &reduceMaxLayer[T]{min: op.Min, xShape: in, out: red.out, outLen: prodInts(out)}
}

func (l *reduceMaxLayer[T]) allocate() { l.arg = make([]int, l.outLen) }

func (l *reduceMaxLayer[T]) forward(y []T, ins [][]T) {
	kernels.ReduceExtremeForward(l.min, ins[0], y, l.arg, l.xShape, l.out)
}

func (l *reduceMaxLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) {
	kernels.ReduceExtremeBackward(dy, dx, l.arg)
}

// buffers: the position of each extreme.
func (l *reduceMaxLayer[T]) buffers(int) Memory { return Memory{Other: int64(l.outLen) * 8} }

var _ layer[float32] = (*reduceMaxLayer[float32])(nil)
