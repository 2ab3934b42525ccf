package engine

import (
	"fmt"

	"github.com/advcheck/advcheck/internal/parallel"
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

type Float = kernels.Float

// layer is one IR node lowered for a fixed batch size: forward computes the
// output from the dynamic inputs, backward the gradient with respect to
// dynamic input `which`. Constants live inside the layer. Both must write
// every element of their output.
type layer[T Float] interface {
	forward(y []T, ins [][]T)
	backward(which int, dx, dy []T, ins [][]T, y []T)
}

// scratch is per-worker scratch memory shared by the layers of one program
// (programs run one call at a time, so layers never use it concurrently).
type scratch[T Float] struct{ bufs [][]T }

func (s *scratch[T]) reserve(n int) {
	for len(s.bufs) < parallel.Workers() {
		s.bufs = append(s.bufs, nil)
	}
	for i := range s.bufs {
		if len(s.bufs[i]) < n {
			s.bufs[i] = make([]T, n)
		}
	}
}

func (s *scratch[T]) get(c, n int) []T { return s.bufs[c][:n] }

func toT[T Float](d []float64) []T {
	out := make([]T, len(d))
	for i, v := range d {
		out[i] = T(v)
	}
	return out
}

// lower builds the layer for node at batch size n. With relu, a Conv or
// Dense layer also applies the ReLU that follows it (fused: one pass less
// over memory forward and backward).
func lower[T Float](node *ir.Node, n int, sc *scratch[T], relu bool) (layer[T], error) {
	shapes := make([][]int, len(node.Inputs))
	for i, v := range node.Inputs {
		shapes[i] = v.Shape.Concrete(n)
	}
	out := node.Output.Shape.Concrete(n)
	constAt := func(i int) []T {
		if i >= len(node.Inputs) || node.Inputs[i] == nil {
			return nil
		}
		return toT[T](node.Inputs[i].Const.Data)
	}
	switch op := node.Op.(type) {
	case ir.Conv:
		x, w := shapes[0], shapes[1]
		g := kernels.ConvGeom{C: x[1], H: x[2], W: x[3], M: out[1], OH: out[2], OW: out[3],
			KH: w[2], KW: w[3], SH: op.Strides[0], SW: op.Strides[1], DH: op.Dilations[0], DW: op.Dilations[1],
			PT: op.Pads[0], PL: op.Pads[1], Group: op.Group}
		sc.reserve(g.ConvScratch())
		return &convLayer[T]{g: g, n: n, w: constAt(1), b: constAt(2), sc: sc, relu: relu}, nil
	case ir.Pool:
		x := shapes[0]
		g := kernels.PoolGeom{H: x[2], W: x[3], OH: out[2], OW: out[3], KH: op.Kernel[0], KW: op.Kernel[1],
			SH: op.Strides[0], SW: op.Strides[1], DH: op.Dilations[0], DW: op.Dilations[1],
			PT: op.Pads[0], PL: op.Pads[1], PB: op.Pads[2], PR: op.Pads[3]}
		planes := x[0] * x[1]
		if op.Max {
			return &maxPoolLayer[T]{g: g, planes: planes, arg: make([]int32, planes*g.OH*g.OW)}, nil
		}
		if op.Dilations != [2]int{1, 1} {
			return nil, fmt.Errorf("%w: AveragePool with dilations", ir.ErrUnsupported)
		}
		return &avgPoolLayer[T]{g: g, planes: planes, div: kernels.AvgDivisors[T](g, op.CountIncludePad)}, nil
	case ir.GlobalAvgPool:
		x := shapes[0]
		g := kernels.PoolGeom{H: x[2], W: x[3], OH: 1, OW: 1, KH: x[2], KW: x[3], SH: 1, SW: 1, DH: 1, DW: 1}
		return &avgPoolLayer[T]{g: g, planes: x[0] * x[1], div: kernels.AvgDivisors[T](g, true)}, nil
	case ir.Pad:
		x := shapes[0]
		return newPadLayer[T](x, out, op), nil
	case ir.Dense:
		x, w := shapes[0], shapes[1]
		k, m := w[0], w[1]
		sc.reserve(kernels.DenseScratch(k, m))
		return &denseLayer[T]{k: k, m: m, rows: prodInts(x) / k, w: constAt(1), b: constAt(2), relu: relu, sc: sc}, nil
	case ir.MatMul:
		return newMatMulLayer[T](node, shapes, out)
	case ir.Binary:
		return newBinaryLayer[T](node, shapes, out)
	case ir.Unary:
		return &unaryLayer[T]{u: kernels.Unary{Kind: kernels.UnaryKind(op.Func), Alpha: op.Alpha, Beta: op.Beta, Min: op.Min, Max: op.Max}}, nil
	case ir.Softmax:
		outer, k, inner := prodInts(out[:op.Axis]), out[op.Axis], prodInts(out[op.Axis+1:])
		return &softmaxLayer[T]{log: op.Log, outer: outer, k: k, inner: inner}, nil
	case ir.Reshape:
		return copyLayer[T]{}, nil
	case ir.Transpose:
		return newTransposeLayer[T](shapes[0], op.Perm), nil
	case ir.Concat:
		return newConcatLayer[T](node, shapes, out, op.Axis)
	case ir.Slice:
		return newSliceLayer[T](shapes[0], out, op), nil
	case ir.Reduce:
		return newReduceLayer[T](shapes[0], op), nil
	case ir.LayerNorm:
		return newLayerNormLayer[T](node, shapes[0], op), nil
	}
	return nil, fmt.Errorf("%w: no lowering for %s", ir.ErrUnsupported, node.Op.Kind())
}

func prodInts(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// Conv.

type convLayer[T Float] struct {
	g    kernels.ConvGeom
	n    int
	w, b []T
	sc   *scratch[T]
	relu bool
	mask []T // dy masked by the fused ReLU
}

func (l *convLayer[T]) forward(y []T, ins [][]T) {
	k := l.g.ConvScratch()
	per := l.g.M * l.g.OH * l.g.OW
	parallel.ForChunks(l.n, func(c, lo, hi int) {
		kernels.ConvForward(l.g, ins[0], l.w, l.b, y, lo, hi, l.sc.get(c, k))
		if l.relu {
			kernels.UnaryForward(kernels.Unary{Kind: kernels.Relu}, y[lo*per:hi*per], y[lo*per:hi*per])
		}
	})
}

func (l *convLayer[T]) backward(_ int, dx, dy []T, _ [][]T, y []T) {
	k := l.g.ConvScratch()
	per := l.g.M * l.g.OH * l.g.OW
	if l.relu && l.mask == nil {
		l.mask = make([]T, len(dy))
	}
	parallel.ForChunks(l.n, func(c, lo, hi int) {
		g := dy
		if l.relu {
			kernels.UnaryBackward(kernels.Unary{Kind: kernels.Relu}, nil, y[lo*per:hi*per], dy[lo*per:hi*per], l.mask[lo*per:hi*per])
			g = l.mask
		}
		kernels.ConvBackwardInput(l.g, g, l.w, dx, lo, hi, l.sc.get(c, k))
	})
}

// Pooling.

type maxPoolLayer[T Float] struct {
	g      kernels.PoolGeom
	planes int
	arg    []int32
}

func (l *maxPoolLayer[T]) forward(y []T, ins [][]T) {
	parallel.For(l.planes, func(lo, hi int) { kernels.MaxPoolForward(l.g, ins[0], y, l.arg, lo, hi) })
}

func (l *maxPoolLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) {
	parallel.For(l.planes, func(lo, hi int) { kernels.MaxPoolBackward(l.g, dy, l.arg, dx, lo, hi) })
}

type avgPoolLayer[T Float] struct {
	g      kernels.PoolGeom
	planes int
	div    []T
}

func (l *avgPoolLayer[T]) forward(y []T, ins [][]T) {
	parallel.For(l.planes, func(lo, hi int) { kernels.AvgPoolForward(l.g, l.div, ins[0], y, lo, hi) })
}

func (l *avgPoolLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) {
	parallel.For(l.planes, func(lo, hi int) { kernels.AvgPoolBackward(l.g, l.div, dy, dx, lo, hi) })
}

// Dense.

type denseLayer[T Float] struct {
	k, m, rows int
	w, b       []T
	relu       bool
	mask       []T
	sc         *scratch[T]
}

// denseChunks splits rows into worker chunks made of whole DenseBlocks.
func (l *denseLayer[T]) chunks(fn func(c, lo, hi int)) {
	blocks := (l.rows + kernels.DenseBlock - 1) / kernels.DenseBlock
	parallel.ForChunks(blocks, func(c, lo, hi int) {
		fn(c, lo*kernels.DenseBlock, min(hi*kernels.DenseBlock, l.rows))
	})
}

func (l *denseLayer[T]) forward(y []T, ins [][]T) {
	l.chunks(func(c, lo, hi int) {
		kernels.DenseForward(ins[0], l.w, l.b, y, l.k, l.m, lo, hi, l.sc.get(c, kernels.DenseScratch(l.k, l.m)))
		if l.relu {
			kernels.UnaryForward(kernels.Unary{Kind: kernels.Relu}, y[lo*l.m:hi*l.m], y[lo*l.m:hi*l.m])
		}
	})
}

func (l *denseLayer[T]) backward(_ int, dx, dy []T, _ [][]T, y []T) {
	if l.relu && l.mask == nil {
		l.mask = make([]T, len(dy))
	}
	l.chunks(func(c, lo, hi int) {
		g := dy
		if l.relu {
			kernels.UnaryBackward(kernels.Unary{Kind: kernels.Relu}, nil, y[lo*l.m:hi*l.m], dy[lo*l.m:hi*l.m], l.mask[lo*l.m:hi*l.m])
			g = l.mask
		}
		kernels.DenseBackward(g, l.w, dx, l.k, l.m, lo, hi, l.sc.get(c, kernels.DenseScratch(l.k, l.m)))
	})
}

// Elementwise functions.

type unaryLayer[T Float] struct{ u kernels.Unary }

// grain is the smallest number of elements worth giving a worker.
const grain = 1 << 14

func chunked(n int, fn func(lo, hi int)) {
	parts := (n + grain - 1) / grain
	parallel.For(parts, func(lo, hi int) { fn(lo*grain, min(hi*grain, n)) })
}

func (l *unaryLayer[T]) forward(y []T, ins [][]T) {
	x := ins[0]
	chunked(len(y), func(lo, hi int) { kernels.UnaryForward(l.u, x[lo:hi], y[lo:hi]) })
}

func (l *unaryLayer[T]) backward(_ int, dx, dy []T, ins [][]T, y []T) {
	x := ins[0]
	chunked(len(dx), func(lo, hi int) { kernels.UnaryBackward(l.u, x[lo:hi], y[lo:hi], dy[lo:hi], dx[lo:hi]) })
}

type softmaxLayer[T Float] struct {
	log             bool
	outer, k, inner int
}

func (l *softmaxLayer[T]) forward(y []T, ins [][]T) {
	parallel.For(l.outer, func(lo, hi int) { kernels.SoftmaxForward(l.log, ins[0], y, l.k, l.inner, lo, hi) })
}

func (l *softmaxLayer[T]) backward(_ int, dx, dy []T, _ [][]T, y []T) {
	parallel.For(l.outer, func(lo, hi int) { kernels.SoftmaxBackward(l.log, y, dy, dx, l.k, l.inner, lo, hi) })
}

// copyLayer is Reshape: same elements, new shape.
type copyLayer[T Float] struct{}

func (copyLayer[T]) forward(y []T, ins [][]T)                   { copy(y, ins[0]) }
func (copyLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) { copy(dx, dy) }

// Every layer type implements layer (checked here for the compiler and linters).
var (
	_ layer[float32] = (*convLayer[float32])(nil)
	_ layer[float32] = (*maxPoolLayer[float32])(nil)
	_ layer[float32] = (*avgPoolLayer[float32])(nil)
	_ layer[float32] = (*denseLayer[float32])(nil)
	_ layer[float32] = (*unaryLayer[float32])(nil)
	_ layer[float32] = (*softmaxLayer[float32])(nil)
	_ layer[float32] = copyLayer[float32]{}
	_ layer[float32] = (*binaryLayer[float32])(nil)
	_ layer[float32] = (*matmulLayer[float32])(nil)
	_ layer[float32] = (*transposeLayer[float32])(nil)
	_ layer[float32] = (*padLayer[float32])(nil)
	_ layer[float32] = (*concatLayer[float32])(nil)
	_ layer[float32] = (*sliceLayer[float32])(nil)
	_ layer[float32] = (*reduceLayer[float32])(nil)
	_ layer[float32] = (*lossLayer[float32])(nil)
)
