package engine

import (
	"github.com/advcheck/advcheck/internal/parallel"
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// layerNormLayer normalises rows of d elements (the axes from op.Axis on);
// the rows are independent, so work splits by row. Forward keeps each row's
// mean and inverse deviation for backward.
type layerNormLayer[T Float] struct {
	rows, d   int
	eps       float64
	g, b      []T
	mean, inv []float64
}

func newLayerNormLayer[T Float](node *ir.Node, x []int, op ir.LayerNorm, lw lowering[T]) layer[T] {
	d := prodInts(x[op.Axis:])
	rows := prodInts(x) / max(d, 1)
	return &layerNormLayer[T]{rows: rows, d: d, eps: op.Epsilon,
		g: lw.constant(node.Inputs[1]), b: lw.constant(node.Inputs[2])}
}

func (l *layerNormLayer[T]) allocate() {
	l.mean, l.inv = make([]float64, l.rows), make([]float64, l.rows)
}

// each splits the rows over the workers, about grain elements at least per worker.
func (l *layerNormLayer[T]) each(fn func(lo, hi int)) {
	per := max(1, grain/max(l.d, 1))
	parts := (l.rows + per - 1) / per
	parallel.For(parts, func(lo, hi int) { fn(lo*per, min(hi*per, l.rows)) })
}

func (l *layerNormLayer[T]) forward(y []T, ins [][]T) {
	l.each(func(lo, hi int) { kernels.LayerNormForward(ins[0], y, l.g, l.b, l.d, l.eps, l.mean, l.inv, lo, hi) })
}

func (l *layerNormLayer[T]) backward(_ int, dx, dy []T, ins [][]T, _ []T) {
	l.each(func(lo, hi int) { kernels.LayerNormBackward(ins[0], dy, l.g, l.d, l.mean, l.inv, dx, lo, hi) })
}

// buffers: the per-row mean and inverse deviation (the weights are the model's).
func (l *layerNormLayer[T]) buffers(int) Memory { return Memory{Other: int64(2*l.rows) * 8} }

var _ layer[float32] = (*layerNormLayer[float32])(nil)
