package ir

import (
	"fmt"
	"math"
	"slices"
)

// This file is the float64 reference implementation of every op: direct
// loops over output elements, written to be obviously correct rather than
// fast. It is the oracle for the lowerings and it folds constants at import.

// strides returns C-order strides of shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// unravel writes the multi-index of flat index i in shape into idx.
func unravel(i int, shape []int, idx []int) {
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] == 0 {
			idx[d] = 0
			continue
		}
		idx[d] = i % shape[d]
		i /= shape[d]
	}
}

// evalOp computes op on concrete inputs into a tensor of shape out.
func evalOp(op Op, in []*Tensor, out []int) (*Tensor, error) {
	if slices.ContainsFunc(in, func(t *Tensor) bool { return t != nil && t.F32 != nil }) {
		w := make([]*Tensor, len(in))
		for i, t := range in {
			if t != nil {
				t = t.wide()
			}
			w[i] = t
		}
		in = w
	}
	for _, t := range in {
		if t != nil && t.HasSym() {
			if _, ok := op.(Reshape); ok {
				continue
			}
			if _, ok := op.(Concat); ok {
				continue
			}
			if _, ok := op.(Slice); ok {
				continue
			}
			if _, ok := op.(Transpose); ok {
				continue
			}
			return nil, errorf(ErrUnsupported, "%s on a shape that depends on the batch size (only Shape, Gather, Concat, Slice, Squeeze, Unsqueeze and Cast may compute with it)", op.Kind())
		}
	}
	y := NewTensor(out...)
	switch op := op.(type) {
	case Conv:
		refConv(op, in, y)
	case Pool:
		refPool(op, in[0], y)
	case GlobalAvgPool:
		refGlobalAvgPool(in[0], y)
	case Pad:
		refPad(op, in[0], y)
	case Dense:
		refDense(in, y)
	case MatMul:
		refMatMul(in[0], in[1], y)
	case Binary:
		refBinary(op.Op, in[0], in[1], y)
	case Unary:
		for i, v := range in[0].Data {
			y.Data[i] = refUnary(op, v)
		}
	case Softmax:
		refSoftmax(op, in[0], y)
	case Reshape:
		copy(y.Data, in[0].Data)
		copySym(y, in[0], func(i int) int { return i })
		y.Int = in[0].Int
	case Transpose:
		refTranspose(op.Perm, in[0], y)
	case Concat:
		refConcat(op.Axis, in, y)
	case Slice:
		refSlice(op, in[0], y)
	case Reduce:
		refReduce(op, in[0], y)
	case LayerNorm:
		refLayerNorm(op, in, y)
	case ReduceMax:
		refReduceMax(op, in[0], y)
	default:
		return nil, fmt.Errorf("ir: no reference implementation of %s", op.Kind())
	}
	return y, nil
}

// copySym sets y.Sym[i] = x.Sym[src(i)] when x carries batch marks.
func copySym(y, x *Tensor, src func(i int) int) {
	if x.Sym == nil {
		return
	}
	if y.Sym == nil {
		y.Sym = make([]bool, len(y.Data))
	}
	for i := range y.Data {
		if j := src(i); j >= 0 {
			y.Sym[i] = x.Sym[j]
		}
	}
}

func refConv(op Conv, in []*Tensor, y *Tensor) {
	x, w := in[0], in[1]
	var b *Tensor
	if len(in) > 2 {
		b = in[2]
	}
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	oh, ow := y.Shape[2], y.Shape[3]
	mg := m / op.Group
	for ni := 0; ni < n; ni++ {
		for mi := 0; mi < m; mi++ {
			g := mi / mg
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					s := 0.0
					if b != nil {
						s = b.Data[mi]
					}
					for ci := 0; ci < cg; ci++ {
						cin := g*cg + ci
						for a := 0; a < kh; a++ {
							r := i*op.Strides[0] - op.Pads[0] + a*op.Dilations[0]
							if r < 0 || r >= h {
								continue
							}
							for bb := 0; bb < kw; bb++ {
								q := j*op.Strides[1] - op.Pads[1] + bb*op.Dilations[1]
								if q < 0 || q >= wd {
									continue
								}
								s += x.Data[((ni*c+cin)*h+r)*wd+q] * w.Data[((mi*cg+ci)*kh+a)*kw+bb]
							}
						}
					}
					y.Data[((ni*m+mi)*oh+i)*ow+j] = s
				}
			}
		}
	}
}

func refPool(op Pool, x, y *Tensor) {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := y.Shape[2], y.Shape[3]
	for p := 0; p < n*c; p++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				r0 := i*op.Strides[0] - op.Pads[0]
				q0 := j*op.Strides[1] - op.Pads[1]
				var v float64
				if op.Max {
					v = math.Inf(-1)
					for a := 0; a < op.Kernel[0]; a++ {
						r := r0 + a*op.Dilations[0]
						for b := 0; b < op.Kernel[1]; b++ {
							q := q0 + b*op.Dilations[1]
							if r >= 0 && r < h && q >= 0 && q < w {
								v = math.Max(v, x.Data[(p*h+r)*w+q])
							}
						}
					}
				} else {
					// PyTorch's rule: the window is clipped to the padded input
					// for the divisor with padding, to the input without.
					r1 := min(r0+op.Kernel[0], h+op.Pads[2])
					q1 := min(q0+op.Kernel[1], w+op.Pads[3])
					div := (r1 - r0) * (q1 - q0)
					ra, rb := max(r0, 0), min(r1, h)
					qa, qb := max(q0, 0), min(q1, w)
					if !op.CountIncludePad {
						div = (rb - ra) * (qb - qa)
					}
					s := 0.0
					for r := ra; r < rb; r++ {
						for q := qa; q < qb; q++ {
							s += x.Data[(p*h+r)*w+q]
						}
					}
					v = s / float64(div)
				}
				y.Data[(p*oh+i)*ow+j] = v
			}
		}
	}
}

func refGlobalAvgPool(x, y *Tensor) {
	hw := x.Shape[2] * x.Shape[3]
	for p := 0; p < x.Shape[0]*x.Shape[1]; p++ {
		s := 0.0
		for k := 0; k < hw; k++ {
			s += x.Data[p*hw+k]
		}
		y.Data[p] = s / float64(hw)
	}
}

func refPad(op Pad, x, y *Tensor) {
	idx := make([]int, len(y.Shape))
	xs := strides(x.Shape)
	for i := range y.Data {
		unravel(i, y.Shape, idx)
		off, inside := 0, true
		for d, k := range idx {
			k -= op.Begin[d]
			if k < 0 || k >= x.Shape[d] {
				inside = false
				break
			}
			off += k * xs[d]
		}
		if inside {
			y.Data[i] = x.Data[off]
		} else {
			y.Data[i] = op.Value
		}
	}
}

func refDense(in []*Tensor, y *Tensor) {
	x, w := in[0], in[1]
	k, m := w.Shape[0], w.Shape[1]
	rows := len(x.Data) / k
	for r := 0; r < rows; r++ {
		for j := 0; j < m; j++ {
			s := 0.0
			if len(in) > 2 {
				s = in[2].Data[j]
			}
			for l := 0; l < k; l++ {
				s += x.Data[r*k+l] * w.Data[l*m+j]
			}
			y.Data[r*m+j] = s
		}
	}
}

// matmulShapes promotes 1-D operands as NumPy does and returns the operand
// shapes as (batch..., rows, cols) with the broadcast batch shape.
func matmulShapes(a, b []int) (as, bs, batch []int, squeezeA, squeezeB bool) {
	as, bs = append([]int(nil), a...), append([]int(nil), b...)
	if len(as) == 1 {
		as = []int{1, as[0]}
		squeezeA = true
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
		squeezeB = true
	}
	batch, _ = broadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	return
}

func refMatMul(a, b, y *Tensor) {
	as, bs, batch, _, _ := matmulShapes(a.Shape, b.Shape)
	n, k, m := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	nb := prod(batch)
	idx := make([]int, len(batch))
	for p := 0; p < nb; p++ {
		unravel(p, batch, idx)
		ao := broadcastOffset(idx, as[:len(as)-2]) * n * k
		bo := broadcastOffset(idx, bs[:len(bs)-2]) * k * m
		for i := 0; i < n; i++ {
			for j := 0; j < m; j++ {
				s := 0.0
				for l := 0; l < k; l++ {
					s += a.Data[ao+i*k+l] * b.Data[bo+l*m+j]
				}
				y.Data[(p*n+i)*m+j] = s
			}
		}
	}
}

// broadcastOffset returns the flat offset in a tensor of shape s (right-aligned
// against idx, size-1 axes broadcast) of the multi-index idx.
func broadcastOffset(idx, s []int) int {
	off, st := 0, 1
	for d := len(s) - 1; d >= 0; d-- {
		k := idx[len(idx)-len(s)+d]
		if s[d] == 1 {
			k = 0
		}
		off += k * st
		st *= s[d]
	}
	return off
}

// broadcastShape returns the NumPy broadcast of two concrete shapes.
func broadcastShape(a, b []int) ([]int, error) {
	out, err := broadcastSym(a, b)
	return []int(out), err
}

func refBinary(op BinaryKind, a, b, y *Tensor) {
	idx := make([]int, len(y.Shape))
	for i := range y.Data {
		unravel(i, y.Shape, idx)
		u := a.Data[broadcastOffset(idx, a.Shape)]
		v := b.Data[broadcastOffset(idx, b.Shape)]
		switch op {
		case Add:
			y.Data[i] = u + v
		case Sub:
			y.Data[i] = u - v
		case Mul:
			y.Data[i] = u * v
		case Div:
			y.Data[i] = u / v
		}
	}
	y.Int = a.Int && b.Int
	if y.Int && op == Div {
		for i, v := range y.Data {
			y.Data[i] = math.Trunc(v)
		}
	}
}

// refUnary is the value of an elementwise function.
func refUnary(op Unary, v float64) float64 {
	switch op.Func {
	case Relu:
		return math.Max(v, 0)
	case LeakyRelu:
		if v < 0 {
			return op.Alpha * v
		}
		return v
	case Sigmoid:
		return 1 / (1 + math.Exp(-v))
	case Tanh:
		return math.Tanh(v)
	case Clip:
		return math.Min(math.Max(v, op.Min), op.Max)
	case Abs:
		return math.Abs(v)
	case Neg:
		return -v
	case Exp:
		return math.Exp(v)
	case Elu:
		if v < 0 {
			return op.Alpha * (math.Exp(v) - 1)
		}
		return v
	case Softplus:
		return math.Log1p(math.Exp(v))
	case Erf:
		return math.Erf(v)
	case HardSigmoid:
		return math.Max(0, math.Min(1, op.Alpha*v+op.Beta))
	case HardSwish:
		return v * math.Max(0, math.Min(1, v/6+0.5))
	case Gelu:
		return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
	case GeluTanh:
		return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	case Pow:
		return math.Pow(v, op.Alpha)
	case Sqrt:
		return math.Sqrt(v)
	}
	panic("ir: unknown unary op")
}

func refSoftmax(op Softmax, x, y *Tensor) {
	outer, axis, inner := splitAxis(x.Shape, op.Axis)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			at := func(k int) int { return (o*axis+k)*inner + in }
			m := math.Inf(-1)
			for k := 0; k < axis; k++ {
				m = math.Max(m, x.Data[at(k)])
			}
			s := 0.0
			for k := 0; k < axis; k++ {
				s += math.Exp(x.Data[at(k)] - m)
			}
			for k := 0; k < axis; k++ {
				if op.Log {
					y.Data[at(k)] = x.Data[at(k)] - m - math.Log(s)
				} else {
					y.Data[at(k)] = math.Exp(x.Data[at(k)]-m) / s
				}
			}
		}
	}
}

// splitAxis returns the products of the dimensions before, at and after axis.
func splitAxis(shape []int, axis int) (outer, n, inner int) {
	return prod(shape[:axis]), shape[axis], prod(shape[axis+1:])
}

func refTranspose(perm []int, x, y *Tensor) {
	xs := strides(x.Shape)
	idx := make([]int, len(y.Shape))
	src := func(i int) int {
		unravel(i, y.Shape, idx)
		off := 0
		for d, p := range perm {
			off += idx[d] * xs[p]
		}
		return off
	}
	for i := range y.Data {
		y.Data[i] = x.Data[src(i)]
	}
	copySym(y, x, src)
	y.Int = x.Int
}

func refConcat(axis int, in []*Tensor, y *Tensor) {
	for i, t := range in {
		if len(t.Data) != len(y.Data)/max(1, y.Shape[axis])*t.Shape[axis] {
			// An input whose batch axis is 1 (a constant expanded to the
			// batch) is broadcast first.
			in = append([]*Tensor(nil), in...)
			shape := append([]int(nil), y.Shape...)
			shape[axis] = t.Shape[axis]
			b := NewTensor(shape...)
			idx := make([]int, len(shape))
			for j := range b.Data {
				unravel(j, shape, idx)
				b.Data[j] = t.Data[broadcastOffset(idx, t.Shape)]
			}
			b.Int = t.Int
			in[i] = b
		}
	}
	outer, _, inner := splitAxis(y.Shape, axis)
	pos := 0
	y.Int = true
	for _, t := range in {
		n := t.Shape[axis]
		for o := 0; o < outer; o++ {
			for k := 0; k < n*inner; k++ {
				dst := (o*y.Shape[axis]+pos)*inner + k
				src := o*n*inner + k
				y.Data[dst] = t.Data[src]
				if t.Sym != nil && t.Sym[src] {
					if y.Sym == nil {
						y.Sym = make([]bool, len(y.Data))
					}
					y.Sym[dst] = true
				}
			}
		}
		pos += n
		y.Int = y.Int && t.Int
	}
}

func refSlice(op Slice, x, y *Tensor) {
	xs := strides(x.Shape)
	idx := make([]int, len(y.Shape))
	src := func(i int) int {
		unravel(i, y.Shape, idx)
		off := 0
		for d, k := range idx {
			off += (op.Starts[d] + k*op.Steps[d]) * xs[d]
		}
		return off
	}
	for i := range y.Data {
		y.Data[i] = x.Data[src(i)]
	}
	copySym(y, x, src)
	y.Int = x.Int
}

func refReduce(op Reduce, x, y *Tensor) {
	reduced := make([]bool, len(x.Shape))
	count := 1
	for _, a := range op.Axes {
		reduced[a] = true
		count *= x.Shape[a]
	}
	// The output index of an input element: drop (or zero) the reduced axes.
	keep := make([]int, len(x.Shape))
	for d := range x.Shape {
		keep[d] = x.Shape[d]
		if reduced[d] {
			keep[d] = 1
		}
	}
	ks := strides(keep)
	idx := make([]int, len(x.Shape))
	for i, v := range x.Data {
		unravel(i, x.Shape, idx)
		off := 0
		for d, k := range idx {
			if !reduced[d] {
				off += k * ks[d]
			}
		}
		y.Data[off] += v
	}
	if op.Mean {
		for i := range y.Data {
			y.Data[i] /= float64(count)
		}
	}
}
