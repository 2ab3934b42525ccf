package engine

import (
	"fmt"

	"github.com/advcheck/advcheck/internal/parallel"
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// operandStrides returns the strides with which an operand of shape s is read
// when broadcast (right-aligned) against out.
func operandStrides(s, out []int) []int {
	st := make([]int, len(out))
	cs := kernels.ContiguousStrides(s)
	for d := range out {
		k := d - (len(out) - len(s))
		if k < 0 || s[k] == 1 {
			continue
		}
		st[d] = cs[k]
	}
	return st
}

// pair holds the two operands of a binary layer, either of which may be a
// constant of the layer or a dynamic input of the node.
type pair[T Float] struct {
	consts   [2][]T // constant operands (nil when dynamic)
	dynIndex [2]int // position of each operand in the layer's inputs, or -1
}

func newPair[T Float](node *ir.Node, lw lowering[T]) pair[T] {
	var p pair[T]
	k := 0
	for i, v := range node.Inputs[:2] {
		if v.IsConst() {
			p.dynIndex[i] = -1
			p.consts[i] = lw.constant(v)
			continue
		}
		p.dynIndex[i] = k
		k++
	}
	return p
}

// operands returns both operands' data.
func (p *pair[T]) operands(ins [][]T) (a, b []T) {
	a, b = p.consts[0], p.consts[1]
	if p.dynIndex[0] >= 0 {
		a = ins[p.dynIndex[0]]
	}
	if p.dynIndex[1] >= 0 {
		b = ins[p.dynIndex[1]]
	}
	return a, b
}

// Binary arithmetic with broadcasting; either operand may be a constant.

type binaryLayer[T Float] struct {
	pair[T]
	op     kernels.BinaryKind
	bc     kernels.Broadcast
	n, per int    // samples and output elements per sample, when split by sample
	opPer  [2]int // elements per sample of each operand (0 for a constant)
	split  bool   // the batch is axis 0 of the output: work splits by sample
}

func newBinaryLayer[T Float](node *ir.Node, shapes [][]int, out []int, lw lowering[T]) (layer[T], error) {
	l := &binaryLayer[T]{pair: newPair[T](node, lw), op: kernels.BinaryKind(node.Op.(ir.Binary).Op)}
	l.bc = kernels.Broadcast{Shape: out, AStrides: operandStrides(shapes[0], out), BStrides: operandStrides(shapes[1], out)}
	for i := range l.dynIndex {
		if l.dynIndex[i] >= 0 {
			l.opPer[i] = prodInts(shapes[i][1:]) // a dynamic operand has the batch as axis 0
		}
	}
	l.split = node.Output.Shape.BatchAxis() == 0 && len(out) > 0
	if l.split {
		l.n, l.per = out[0], prodInts(out[1:])
	}
	return l, nil
}

// chunk returns the broadcast of samples [lo, hi) and the operand offsets.
func (l *binaryLayer[T]) chunk(lo, hi int) (kernels.Broadcast, int, int) {
	bc := l.bc
	bc.Shape = append([]int{hi - lo}, l.bc.Shape[1:]...)
	return bc, lo * l.opPer[0], lo * l.opPer[1]
}

func (l *binaryLayer[T]) forward(y []T, ins [][]T) {
	a, b := l.operands(ins)
	if !l.split {
		kernels.BinaryForward(l.op, l.bc, a, b, y)
		return
	}
	parallel.For(l.n, func(lo, hi int) {
		bc, oa, ob := l.chunk(lo, hi)
		kernels.BinaryForward(l.op, bc, a[oa:], b[ob:], y[lo*l.per:hi*l.per])
	})
}

func (l *binaryLayer[T]) backward(which int, dx, dy []T, ins [][]T, _ []T) {
	a, b := l.operands(ins)
	operand := 0
	if l.dynIndex[1] == which {
		operand = 1
	}
	if !l.split {
		kernels.BinaryBackward(l.op, l.bc, operand, a, b, dy, dx)
		return
	}
	// A dynamic operand has the batch as its axis 0, so samples own disjoint
	// parts of its gradient.
	stride := l.opPer[operand]
	parallel.For(l.n, func(lo, hi int) {
		bc, oa, ob := l.chunk(lo, hi)
		kernels.BinaryBackward(l.op, bc, operand, from(a, oa), from(b, ob), dy[lo*l.per:hi*l.per], dx[lo*stride:hi*stride])
	})
}

// from returns v[o:], or nil for an operand the backward pass is not given
// (see backwardReads).
func from[T Float](v []T, o int) []T {
	if v == nil {
		return nil
	}
	return v[o:]
}

// MatMul of two operands, either of which may be constant.

type matmulLayer[T Float] struct {
	pair[T]
	g       kernels.MatMulGeom
	entries int
}

func newMatMulLayer[T Float](node *ir.Node, shapes [][]int, out []int, lw lowering[T]) (layer[T], error) {
	a, b := append([]int(nil), shapes[0]...), append([]int(nil), shapes[1]...)
	if len(a) == 1 {
		a = []int{1, a[0]}
	}
	if len(b) == 1 {
		b = []int{b[0], 1}
	}
	batch := []int{}
	na, nb := len(a)-2, len(b)-2
	for i := 0; i < max(na, nb); i++ {
		da, db := 1, 1
		if k := i - (max(na, nb) - na); k >= 0 {
			da = a[k]
		}
		if k := i - (max(na, nb) - nb); k >= 0 {
			db = b[k]
		}
		batch = append(batch, max(da, db))
	}
	l := &matmulLayer[T]{pair: newPair[T](node, lw), g: kernels.MatMulGeom{Batch: batch, ABatch: a[:na], BBatch: b[:nb], N: a[na], K: a[na+1], M: b[nb+1]}}
	l.entries = prodInts(batch)
	if l.entries*l.g.N*l.g.M != prodInts(out) {
		return nil, fmt.Errorf("%w: MatMul shapes %v × %v → %v", ir.ErrInvalid, shapes[0], shapes[1], out)
	}
	return l, nil
}

func (l *matmulLayer[T]) forward(y []T, ins [][]T) {
	a, b := l.operands(ins)
	parallel.For(l.entries, func(lo, hi int) { kernels.MatMulForward(l.g, a, b, y, lo, hi) })
}

func (l *matmulLayer[T]) backward(which int, dx, dy []T, ins [][]T, _ []T) {
	a, b := l.operands(ins)
	// An operand that is not broadcast gets one gradient matrix per batch
	// entry, computed in parallel; a broadcast one sums entries serially.
	switch {
	case l.dynIndex[0] == which && l.g.Full(l.g.ABatch):
		parallel.For(l.entries, func(lo, hi int) { kernels.MatMulBackwardA(l.g, dy, b, dx, lo, hi) })
	case l.dynIndex[0] == which:
		kernels.MatMulBackwardASum(l.g, dy, b, dx)
	case l.g.Full(l.g.BBatch):
		parallel.For(l.entries, func(lo, hi int) { kernels.MatMulBackwardB(l.g, dy, a, dx, lo, hi) })
	default:
		kernels.MatMulBackwardBSum(l.g, dy, a, dx)
	}
}

// Transpose.

type transposeLayer[T Float] struct {
	fwd, bwd kernels.Strided // views of the input (output) in output (input) order
	n        int             // samples, when the batch stays axis 0 (work splits by sample)
	inPer    int
	outPer   int
}

func newTransposeLayer[T Float](in []int, perm []int) layer[T] {
	out := make([]int, len(perm))
	inv := make([]int, len(perm))
	for i, p := range perm {
		out[i] = in[p]
		inv[p] = i
	}
	is, os := kernels.ContiguousStrides(in), kernels.ContiguousStrides(out)
	l := &transposeLayer[T]{}
	first := 0
	if perm[0] == 0 {
		l.n, l.inPer, l.outPer = in[0], prodInts(in[1:]), prodInts(out[1:])
		first = 1
	}
	for i := first; i < len(perm); i++ {
		l.fwd.Shape = append(l.fwd.Shape, out[i])
		l.fwd.Strides = append(l.fwd.Strides, is[perm[i]])
		l.bwd.Shape = append(l.bwd.Shape, in[i])
		l.bwd.Strides = append(l.bwd.Strides, os[inv[i]])
	}
	return l
}

func (l *transposeLayer[T]) forward(y []T, ins [][]T) {
	if l.n == 0 {
		kernels.Gather(y, ins[0], l.fwd)
		return
	}
	parallel.For(l.n, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			kernels.Gather(y[s*l.outPer:(s+1)*l.outPer], ins[0][s*l.inPer:(s+1)*l.inPer], l.fwd)
		}
	})
}

func (l *transposeLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) {
	if l.n == 0 {
		kernels.Gather(dx, dy, l.bwd)
		return
	}
	parallel.For(l.n, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			kernels.Gather(dx[s*l.inPer:(s+1)*l.inPer], dy[s*l.outPer:(s+1)*l.outPer], l.bwd)
		}
	})
}

// Pad with a constant.

type padLayer[T Float] struct {
	view  kernels.Strided // where the input sits inside the output
	value T
}

func newPadLayer[T Float](in, out []int, op ir.Pad) layer[T] {
	os := kernels.ContiguousStrides(out)
	off := 0
	for d := range in {
		off += op.Begin[d] * os[d]
	}
	return &padLayer[T]{view: kernels.Strided{Shape: in, Strides: os, Offset: off}, value: T(op.Value)}
}

func (l *padLayer[T]) forward(y []T, ins [][]T) {
	kernels.Fill(y, l.value)
	kernels.Scatter(y, l.view, ins[0])
}

func (l *padLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) {
	kernels.Gather(dx, dy, l.view)
}

// Concat.

type concatLayer[T Float] struct {
	views    []kernels.Strided
	consts   [][]T // per input: constant data or nil
	dynIndex []int // per input: position in ins or -1
}

func newConcatLayer[T Float](node *ir.Node, shapes [][]int, out []int, axis int, lw lowering[T]) (layer[T], error) {
	os := kernels.ContiguousStrides(out)
	l := &concatLayer[T]{}
	pos, k := 0, 0
	for i, v := range node.Inputs {
		l.views = append(l.views, kernels.Strided{Shape: shapes[i], Strides: os, Offset: pos * os[axis]})
		pos += shapes[i][axis]
		if v.IsConst() {
			var c []T
			if lw.model != nil { // batch-sized: converted per program
				c = broadcastConst[T](v.Const, shapes[i], out, axis)
			}
			l.consts = append(l.consts, c)
			l.views[i].Shape = l.views[i].Shape[:0:0]
			l.views[i].Shape = append(l.views[i].Shape, out...)
			l.views[i].Shape[axis] = shapes[i][axis]
			l.dynIndex = append(l.dynIndex, -1)
		} else {
			l.consts = append(l.consts, nil)
			l.dynIndex = append(l.dynIndex, k)
			k++
		}
	}
	if pos != out[axis] {
		return nil, fmt.Errorf("%w: Concat sizes", ir.ErrInvalid)
	}
	return l, nil
}

func (l *concatLayer[T]) forward(y []T, ins [][]T) {
	for i, v := range l.views {
		src := l.consts[i]
		if l.dynIndex[i] >= 0 {
			src = ins[l.dynIndex[i]]
		}
		kernels.Scatter(y, v, src)
	}
}

func (l *concatLayer[T]) backward(which int, dx, dy []T, _ [][]T, _ []T) {
	for i, k := range l.dynIndex {
		if k == which {
			kernels.Gather(dx, dy, l.views[i])
			return
		}
	}
}

// Slice.

type sliceLayer[T Float] struct{ view kernels.Strided }

func newSliceLayer[T Float](in, out []int, op ir.Slice) layer[T] {
	is := kernels.ContiguousStrides(in)
	v := kernels.Strided{Shape: out, Strides: make([]int, len(in))}
	for d := range in {
		v.Strides[d] = is[d] * op.Steps[d]
		v.Offset += op.Starts[d] * is[d]
	}
	return &sliceLayer[T]{view: v}
}

func (l *sliceLayer[T]) forward(y []T, ins [][]T) { kernels.Gather(y, ins[0], l.view) }

func (l *sliceLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) {
	clear(dx)
	kernels.Scatter(dx, l.view, dy)
}

// Reduce.

type reduceLayer[T Float] struct {
	xShape []int
	out    kernels.Strided
	scale  T
}

func newReduceLayer[T Float](in []int, op ir.Reduce) layer[T] {
	red := make([]bool, len(in))
	count := 1
	for _, a := range op.Axes {
		red[a] = true
		count *= in[a]
	}
	keep := make([]int, len(in))
	for d := range in {
		keep[d] = in[d]
		if red[d] {
			keep[d] = 1
		}
	}
	st := kernels.ContiguousStrides(keep)
	for d := range in {
		if red[d] {
			st[d] = 0
		}
	}
	scale := T(1)
	if op.Mean {
		scale = 1 / T(count)
	}
	return &reduceLayer[T]{xShape: in, out: kernels.Strided{Shape: in, Strides: st}, scale: scale}
}

func (l *reduceLayer[T]) forward(y []T, ins [][]T) {
	kernels.ReduceForward(ins[0], y, l.xShape, l.out, l.scale)
}

func (l *reduceLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) {
	kernels.ReduceBackward(dy, dx, l.xShape, l.out, l.scale)
}
