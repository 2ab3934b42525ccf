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
type scratch[T Float] struct {
	need    int // elements per worker: the most any layer reserves
	workers int
	bufs    [][]T
}

func (s *scratch[T]) reserve(n int) { s.need = max(s.need, n) }

func (s *scratch[T]) allocate() {
	s.bufs = make([][]T, s.workers)
	for i := range s.bufs {
		s.bufs[i] = make([]T, s.need)
	}
}

func (s *scratch[T]) get(c, n int) []T { return s.bufs[c][:n] }

// allocator is implemented by layers with buffers of their own beside their
// output, made once the program is planned (never in a dry build).
type allocator interface{ allocate() }

// lowering is what lower needs beside the node: where constants come from
// (nil in a dry build, which allocates nothing), the program's scratch and
// whether the program computes gradients.
type lowering[T Float] struct {
	model *Model[T]
	sc    *scratch[T]
	grad  bool
}

// constant returns v's data in the element type (nil in a dry build).
func (lw lowering[T]) constant(v *ir.Value) []T {
	if lw.model == nil {
		return nil
	}
	return lw.model.constant(v)
}

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
func lower[T Float](node *ir.Node, n int, lw lowering[T], relu bool) (layer[T], error) {
	sc := lw.sc
	shapes := make([][]int, len(node.Inputs))
	for i, v := range node.Inputs {
		shapes[i] = v.Shape.Concrete(n)
	}
	out := node.Output.Shape.Concrete(n)
	constAt := func(i int) []T {
		if i >= len(node.Inputs) || node.Inputs[i] == nil {
			return nil
		}
		return lw.constant(node.Inputs[i])
	}
	switch op := node.Op.(type) {
	case ir.Conv:
		x, w := shapes[0], shapes[1]
		g := kernels.ConvGeom{C: x[1], H: x[2], W: x[3], M: out[1], OH: out[2], OW: out[3],
			KH: w[2], KW: w[3], SH: op.Strides[0], SW: op.Strides[1], DH: op.Dilations[0], DW: op.Dilations[1],
			PT: op.Pads[0], PL: op.Pads[1], Group: op.Group}
		l := &convLayer[T]{g: g, n: n, w: constAt(1), b: constAt(2), sc: sc, relu: relu}
		sc.reserve(l.scratch(lw.grad))
		return l, nil
	case ir.Pool:
		x := shapes[0]
		g := kernels.PoolGeom{H: x[2], W: x[3], OH: out[2], OW: out[3], KH: op.Kernel[0], KW: op.Kernel[1],
			SH: op.Strides[0], SW: op.Strides[1], DH: op.Dilations[0], DW: op.Dilations[1],
			PT: op.Pads[0], PL: op.Pads[1], PB: op.Pads[2], PR: op.Pads[3]}
		planes := x[0] * x[1]
		if op.Max {
			return &maxPoolLayer[T]{g: g, planes: planes}, nil
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
		l := &denseLayer[T]{k: k, m: m, rows: prodInts(x) / k, w: constAt(1), b: constAt(2), relu: relu, sc: sc}
		if in := node.Inputs[0].Shape; len(in) >= 2 && in.BatchAxis() < len(in)-1 {
			bx := in.BatchAxis()
			a, b := prodInts(in[:bx]), prodInts(in[bx+1:len(in)-1])
			if kernels.UseDenseRows(a, b) {
				l.perSample = &kernels.DenseRows{A: a, N: n, B: b, K: k, M: m}
			}
		}
		sc.reserve(l.scratch(lw.grad))
		return l, nil
	case ir.MatMul:
		return newMatMulLayer[T](node, shapes, out, lw)
	case ir.Binary:
		return newBinaryLayer[T](node, shapes, out, lw)
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
		return newConcatLayer[T](node, shapes, out, op.Axis, lw)
	case ir.Slice:
		return newSliceLayer[T](shapes[0], out, op), nil
	case ir.Reduce:
		return newReduceLayer[T](shapes[0], op), nil
	case ir.LayerNorm:
		return newLayerNormLayer[T](node, shapes[0], op, lw), nil
	case ir.ReduceMax:
		return newReduceMaxLayer[T](shapes[0], out, op), nil
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
}

// scratch is the layer's per-worker scratch: im2col columns, and with the
// gradient of a fused ReLU one sample's masked output gradient.
func (l *convLayer[T]) scratch(grad bool) int {
	k := l.g.ConvScratch()
	if grad && l.relu {
		k += l.g.M * l.g.OH * l.g.OW
	}
	return k
}

func (l *convLayer[T]) forward(y []T, ins [][]T) {
	k := l.g.ConvScratch()
	parallel.ForChunks(l.n, func(c, lo, hi int) {
		col := l.sc.get(c, k)
		kernels.ConvForward(l.g, ins[0], l.w, l.b, y, lo, hi, col, l.relu)
	})
}

func (l *convLayer[T]) backward(_ int, dx, dy []T, _ [][]T, y []T) {
	k := l.g.ConvScratch()
	per := l.g.M * l.g.OH * l.g.OW
	in := l.g.C * l.g.H * l.g.W
	parallel.ForChunks(l.n, func(c, lo, hi int) {
		if !l.relu {
			kernels.ConvBackwardInput(l.g, dy, l.w, dx, lo, hi, l.sc.get(c, k))
			return
		}
		buf := l.sc.get(c, k+per)
		col, mask := buf[:k], buf[k:]
		for i := lo; i < hi; i++ {
			kernels.UnaryBackward(kernels.Unary{Kind: kernels.Relu}, nil, y[i*per:(i+1)*per], dy[i*per:(i+1)*per], mask)
			kernels.ConvBackwardInput(l.g, mask, l.w, dx[i*in:(i+1)*in], 0, 1, col)
		}
	})
}

// Pooling.

type maxPoolLayer[T Float] struct {
	g      kernels.PoolGeom
	planes int
	arg    []int32 // argmax of every output, for the backward pass
}

func (l *maxPoolLayer[T]) allocate() { l.arg = make([]int32, l.planes*l.g.OH*l.g.OW) }

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
	sc         *scratch[T]
	// perSample, when set, multiplies each sample's rows in products of
	// their own (many rows per sample: tokens, pixels); else the rows go in
	// DenseBlock-column blocks.
	perSample *kernels.DenseRows
}

// scratch is the layer's per-worker scratch: the transposed blocks, and with
// the gradient of a fused ReLU one block's masked output gradient.
func (l *denseLayer[T]) scratch(grad bool) int {
	if l.perSample != nil {
		if grad && l.relu {
			return kernels.DenseRowsScratch(l.m)
		}
		return 0
	}
	k := kernels.DenseScratch(l.k, l.m)
	if grad && l.relu {
		k += kernels.DenseBlock * l.m
	}
	return k
}

// denseChunks splits rows into worker chunks made of whole DenseBlocks.
func (l *denseLayer[T]) chunks(fn func(c, lo, hi int)) {
	blocks := (l.rows + kernels.DenseBlock - 1) / kernels.DenseBlock
	parallel.ForChunks(blocks, func(c, lo, hi int) {
		fn(c, lo*kernels.DenseBlock, min(hi*kernels.DenseBlock, l.rows))
	})
}

func (l *denseLayer[T]) forward(y []T, ins [][]T) {
	if g := l.perSample; g != nil {
		parallel.For(g.Items(), func(lo, hi int) { kernels.DenseRowsForward(*g, ins[0], l.w, l.b, y, l.relu, lo, hi) })
		return
	}
	l.chunks(func(c, lo, hi int) {
		kernels.DenseForward(ins[0], l.w, l.b, y, l.k, l.m, lo, hi, l.sc.get(c, kernels.DenseScratch(l.k, l.m)))
		if l.relu {
			kernels.UnaryForward(kernels.Unary{Kind: kernels.Relu}, y[lo*l.m:hi*l.m], y[lo*l.m:hi*l.m])
		}
	})
}

func (l *denseLayer[T]) backward(_ int, dx, dy []T, _ [][]T, y []T) {
	if g := l.perSample; g != nil {
		if !l.relu {
			y = nil
		}
		parallel.ForChunks(g.Items(), func(c, lo, hi int) {
			var sc []T
			if y != nil {
				sc = l.sc.get(c, kernels.DenseRowsScratch(l.m))
			}
			kernels.DenseRowsBackward(*g, dy, l.w, dx, y, lo, hi, sc)
		})
		return
	}
	k := kernels.DenseScratch(l.k, l.m)
	l.chunks(func(c, lo, hi int) {
		if !l.relu {
			kernels.DenseBackward(dy, l.w, dx, l.k, l.m, lo, hi, l.sc.get(c, k))
			return
		}
		buf := l.sc.get(c, k+kernels.DenseBlock*l.m)
		sc, mask := buf[:k], buf[k:]
		for r := lo; r < hi; r += kernels.DenseBlock {
			e := min(r+kernels.DenseBlock, hi)
			mk := mask[:(e-r)*l.m]
			kernels.UnaryBackward(kernels.Unary{Kind: kernels.Relu}, nil, y[r*l.m:e*l.m], dy[r*l.m:e*l.m], mk)
			kernels.DenseBackward(mk, l.w, dx[r*l.k:e*l.k], l.k, l.m, 0, e-r, sc)
		}
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
