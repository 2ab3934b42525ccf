package kernels

import (
	"math"
	"slices"
)

// UnaryKind selects an elementwise function; the values match ir.UnaryKind.
type UnaryKind int

// Unary functions.
const (
	Relu UnaryKind = iota
	LeakyRelu
	Sigmoid
	Tanh
	Clip
	Abs
	Neg
	Exp
	Elu
	Softplus
	Erf
	HardSigmoid
	HardSwish
	Gelu
	GeluTanh
	Pow
	Sqrt
)

// Unary holds an elementwise function and its parameters.
type Unary struct {
	Kind     UnaryKind
	Alpha    float64
	Beta     float64
	Min, Max float64
}

// geluTanhC is √(2/π), the scale inside the tanh approximation of GELU.
var geluTanhC = math.Sqrt(2 / math.Pi)

// isFloat32 reports whether T is float32.
func isFloat32[T Float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// Forward computes y = f(x) elementwise. Float32 results of the exact GELU
// come from the tables of gelu.go.
func UnaryForward[T Float](u Unary, x, y []T) {
	switch u.Kind {
	case Relu:
		y = y[:len(x)]
		for i, v := range x {
			y[i] = max(v, 0) // NaN stays NaN
		}
	case LeakyRelu:
		a := T(u.Alpha)
		for i, v := range x {
			if v < 0 {
				v *= a
			}
			y[i] = v
		}
	case Clip:
		lo, hi := T(u.Min), T(u.Max)
		for i, v := range x {
			y[i] = min(max(v, lo), hi)
		}
	case Sigmoid:
		// unaryValue's rule, in a loop of its own (SiLU and squeeze-and-
		// excitation gates run it on every activation of EfficientNets).
		y = y[:len(x)]
		if isFloat32[T]() {
			for i, v := range x {
				y[i] = T(sigmoidFast(float64(v)))
			}
			return
		}
		for i, v := range x {
			y[i] = T(1 / (1 + math.Exp(-float64(v))))
		}
	case HardSwish:
		y = y[:len(x)]
		for i, v := range x {
			f := float64(v)
			y[i] = T(f * min(max(f+3, 0), 6) / 6)
		}
	case Gelu:
		y = y[:len(x)]
		if isFloat32[T]() {
			for i, v := range x {
				y[i] = T(geluFast(float64(v)))
			}
			return
		}
		for i, v := range x {
			y[i] = T(unaryValue(u, float64(v)))
		}
	default:
		for i, v := range x {
			y[i] = T(unaryValue(u, float64(v)))
		}
	}
}

func unaryValue(u Unary, v float64) float64 {
	switch u.Kind {
	case Sigmoid:
		return 1 / (1 + math.Exp(-v))
	case Tanh:
		return math.Tanh(v)
	case Abs:
		return math.Abs(v)
	case Neg:
		return -v
	case Exp:
		return math.Exp(v)
	case Elu:
		if v < 0 {
			return u.Alpha * (math.Exp(v) - 1)
		}
		return v
	case Softplus:
		if v > 30 {
			return v
		}
		return math.Log1p(math.Exp(v))
	case Erf:
		return math.Erf(v)
	case HardSigmoid:
		return min(max(u.Alpha*v+u.Beta, 0), 1)
	case HardSwish:
		// PyTorch's form, x·relu6(x+3)/6; ONNX's x·clip(x/6+1/2, 0, 1)
		// differs by rounding only.
		return v * min(max(v+3, 0), 6) / 6
	case Gelu:
		return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
	case GeluTanh:
		return 0.5 * v * (1 + math.Tanh(geluTanhC*(v+0.044715*v*v*v)))
	case Pow:
		if u.Alpha == 2 {
			return v * v
		}
		return math.Pow(v, u.Alpha)
	case Sqrt:
		return math.Sqrt(v)
	}
	panic("kernels: unary kind without a value rule")
}

// UnaryBackward computes dx = dy·f'(x) from the input x and output y.
// At the kinks it follows PyTorch's autograd, so that gradients agree with
// the framework models come from:
//   - Clip passes the gradient where min ≤ x ≤ max (torch.clamp's rule), so a
//     model that clamps its input to the valid range still has a gradient at
//     the bounds; Relu passes it where x > 0;
//   - HardSigmoid passes alpha where 0 < alpha·x+beta < 1 (strictly, like
//     torch's hardsigmoid_backward: 0 at x = ±3);
//   - HardSwish takes the middle piece x/3 + 1/2 on the closed interval
//     [-3, 3], like torch's hardswish_backward: -1/2 at x = -3, 3/2 at x = 3;
//   - Pow with exponent 0 has gradient 0 everywhere (torch's pow_backward),
//     where p·x^(p-1) would give NaN at x = 0.
func UnaryBackward[T Float](u Unary, x, y, dy, dx []T) {
	switch u.Kind {
	case Relu:
		for i, v := range y {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	case LeakyRelu:
		a := T(u.Alpha)
		for i, v := range x {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = dy[i] * a
			}
		}
	case Clip:
		lo, hi := T(u.Min), T(u.Max)
		for i, v := range x {
			if v >= lo && v <= hi {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	case Sigmoid:
		for i, v := range y {
			dx[i] = dy[i] * v * (1 - v)
		}
	case Tanh:
		for i, v := range y {
			dx[i] = dy[i] * (1 - v*v)
		}
	case Abs:
		for i, v := range x {
			switch {
			case v > 0:
				dx[i] = dy[i]
			case v < 0:
				dx[i] = -dy[i]
			default:
				dx[i] = 0
			}
		}
	case Neg:
		for i := range dx {
			dx[i] = -dy[i]
		}
	case Exp:
		for i, v := range y {
			dx[i] = dy[i] * v
		}
	case Elu:
		a := T(u.Alpha)
		for i, v := range x {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = dy[i] * (y[i] + a)
			}
		}
	case Softplus:
		for i, v := range x {
			dx[i] = dy[i] * T(1/(1+math.Exp(-float64(v))))
		}
	case Erf:
		for i, v := range x {
			f := float64(v)
			dx[i] = dy[i] * T(2/math.SqrtPi*math.Exp(-f*f))
		}
	case HardSigmoid:
		for i, v := range x {
			if t := u.Alpha*float64(v) + u.Beta; t > 0 && t < 1 {
				dx[i] = dy[i] * T(u.Alpha)
			} else {
				dx[i] = 0
			}
		}
	case HardSwish:
		for i, v := range x {
			switch {
			case v < -3:
				dx[i] = 0
			case v <= 3:
				dx[i] = dy[i] * (v/3 + 0.5)
			default:
				dx[i] = dy[i]
			}
		}
	case Gelu:
		// d/dx x·Φ(x) = Φ(x) + x·φ(x).
		if isFloat32[T]() {
			for i, v := range x {
				dx[i] = dy[i] * T(geluGradFast(float64(v)))
			}
			return
		}
		for i, v := range x {
			f := float64(v)
			cdf := 0.5 * (1 + math.Erf(f/math.Sqrt2))
			pdf := math.Exp(-0.5*f*f) / math.Sqrt(2*math.Pi)
			dx[i] = dy[i] * T(cdf+f*pdf)
		}
	case GeluTanh:
		for i, v := range x {
			f := float64(v)
			th := math.Tanh(geluTanhC * (f + 0.044715*f*f*f))
			d := 0.5*(1+th) + 0.5*f*(1-th*th)*geluTanhC*(1+3*0.044715*f*f)
			dx[i] = dy[i] * T(d)
		}
	case Pow:
		p := u.Alpha
		for i, v := range x {
			switch p {
			case 0:
				dx[i] = 0
			case 1:
				dx[i] = dy[i]
			case 2:
				dx[i] = dy[i] * 2 * v
			default:
				dx[i] = dy[i] * T(p*math.Pow(float64(v), p-1))
			}
		}
	case Sqrt:
		// y' = 1/(2y): +Inf at x = 0, as in torch.
		for i, v := range y {
			dx[i] = dy[i] / (2 * v)
		}
	}
}

// BinaryKind selects an arithmetic operation; the values match ir.BinaryKind.
type BinaryKind int

// Binary operations.
const (
	Add BinaryKind = iota
	Sub
	Mul
	Div
)

// Broadcast describes an elementwise operation over Shape where operand a
// (b) is read at offset Σ index[d]·AStrides[d]; a stride of 0 broadcasts.
type Broadcast struct {
	Shape              []int
	AStrides, BStrides []int
}

// Same reports whether both operands have exactly the output's layout.
func (bc Broadcast) Same() bool {
	s := 1
	for d := len(bc.Shape) - 1; d >= 0; d-- {
		if bc.Shape[d] != 1 && (bc.AStrides[d] != s || bc.BStrides[d] != s) {
			return false
		}
		s *= bc.Shape[d]
	}
	return true
}

// maxMerged is the rank up to which each merges axes without allocating.
const maxMerged = 8

// merged writes the same operation over the fewest axes into sh, sa, sb and
// returns their number: axes of size 1 are dropped and an axis is merged
// into the next one when both operands step over it as over the next one
// times its size (a per-channel scale of N×C×H×W becomes N·C runs of
// H·W). Elements are visited in the same order, so every result, sums
// included, keeps its bits. It returns −1 when more than len(sh) axes
// remain.
func (bc Broadcast) merged(sh, sa, sb []int) int {
	r := 0 // axes written, innermost first
	for d := len(bc.Shape) - 1; d >= 0; d-- {
		n, as, bs := bc.Shape[d], bc.AStrides[d], bc.BStrides[d]
		if n == 1 {
			continue
		}
		if k := r - 1; k >= 0 && as == sa[k]*sh[k] && bs == sb[k]*sh[k] {
			sh[k] *= n
			continue
		}
		if r == len(sh) {
			return -1
		}
		sh[r], sa[r], sb[r] = n, as, bs
		r++
	}
	if r == 0 {
		sh[0], sa[0], sb[0] = 1, 0, 0
		r = 1
	}
	slices.Reverse(sh[:r])
	slices.Reverse(sa[:r])
	slices.Reverse(sb[:r])
	return r
}

// each calls fn for every run along the last axis (after merging axes): the
// output offset, the operand offsets, the run length and the operand
// strides along the run.
func (bc Broadcast) each(fn func(o, oa, ob, n, sa, sb int)) {
	if len(bc.Shape) == 0 {
		fn(0, 0, 0, 1, 0, 0)
		return
	}
	var shA, saA, sbA, idxA [maxMerged]int
	if r := bc.merged(shA[:], saA[:], sbA[:]); r > 0 {
		bc = Broadcast{Shape: shA[:r], AStrides: saA[:r], BStrides: sbA[:r]}
	}
	r := len(bc.Shape)
	last := bc.Shape[r-1]
	idx := idxA[:]
	if r-1 > len(idx) {
		idx = make([]int, r-1)
	}
	total := prodInts(bc.Shape[:r-1])
	oa, ob := 0, 0
	for o := 0; o < total; o++ {
		fn(o*last, oa, ob, last, bc.AStrides[r-1], bc.BStrides[r-1])
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			oa += bc.AStrides[d]
			ob += bc.BStrides[d]
			if idx[d] < bc.Shape[d] {
				break
			}
			oa -= idx[d] * bc.AStrides[d]
			ob -= idx[d] * bc.BStrides[d]
			idx[d] = 0
		}
	}
}

// BinaryForward computes y = a op b with broadcasting.
func BinaryForward[T Float](op BinaryKind, bc Broadcast, a, b, y []T) {
	if bc.Same() {
		a, b = a[:len(y)], b[:len(y)]
		switch op {
		case Add:
			for i := range y {
				y[i] = a[i] + b[i]
			}
		case Sub:
			for i := range y {
				y[i] = a[i] - b[i]
			}
		case Mul:
			for i := range y {
				y[i] = a[i] * b[i]
			}
		case Div:
			for i := range y {
				y[i] = a[i] / b[i]
			}
		}
		return
	}
	bc.each(func(o, oa, ob, n, sa, sb int) {
		ys := y[o : o+n]
		if sa == 1 && sb == 0 || sa == 0 && sb == 1 {
			binaryRunScalar(op, a, b, ys, oa, ob, sa == 0)
			return
		}
		switch op {
		case Add:
			for i := range ys {
				ys[i] = a[oa+i*sa] + b[ob+i*sb]
			}
		case Sub:
			for i := range ys {
				ys[i] = a[oa+i*sa] - b[ob+i*sb]
			}
		case Mul:
			for i := range ys {
				ys[i] = a[oa+i*sa] * b[ob+i*sb]
			}
		case Div:
			for i := range ys {
				ys[i] = a[oa+i*sa] / b[ob+i*sb]
			}
		}
	})
}

// binaryRunScalar computes ys = a[oa:] op b[ob] (or a[oa] op b[ob:] when
// aScalar): one operand broadcast along the run, the other contiguous.
func binaryRunScalar[T Float](op BinaryKind, a, b, ys []T, oa, ob int, aScalar bool) {
	if aScalar {
		av, bs := a[oa], b[ob:ob+len(ys)]
		switch op {
		case Add:
			for i, v := range bs {
				ys[i] = av + v
			}
		case Sub:
			for i, v := range bs {
				ys[i] = av - v
			}
		case Mul:
			for i, v := range bs {
				ys[i] = av * v
			}
		case Div:
			for i, v := range bs {
				ys[i] = av / v
			}
		}
		return
	}
	as, bv := a[oa:oa+len(ys)], b[ob]
	switch op {
	case Add:
		for i, v := range as {
			ys[i] = v + bv
		}
	case Sub:
		for i, v := range as {
			ys[i] = v - bv
		}
	case Mul:
		for i, v := range as {
			ys[i] = v * bv
		}
	case Div:
		for i, v := range as {
			ys[i] = v / bv
		}
	}
}

// BinaryBackward computes the gradient with respect to operand a (which = 0)
// or b (which = 1) into d, which has the operand's layout and is summed over
// broadcast axes.
func BinaryBackward[T Float](op BinaryKind, bc Broadcast, which int, a, b, dy, d []T) {
	clear(d)
	bc.each(func(o, oa, ob, n, sa, sb int) {
		dys := dy[o : o+n]
		if binaryBackRun(op, which, a, b, dys, d, oa, ob, sa, sb) {
			return
		}
		if which == 0 {
			switch op {
			case Add, Sub:
				for i, g := range dys {
					d[oa+i*sa] += g
				}
			case Mul:
				for i, g := range dys {
					d[oa+i*sa] += g * b[ob+i*sb]
				}
			case Div:
				for i, g := range dys {
					d[oa+i*sa] += g / b[ob+i*sb]
				}
			}
			return
		}
		switch op {
		case Add:
			for i, g := range dys {
				d[ob+i*sb] += g
			}
		case Sub:
			for i, g := range dys {
				d[ob+i*sb] -= g
			}
		case Mul:
			for i, g := range dys {
				d[ob+i*sb] += g * a[oa+i*sa]
			}
		case Div:
			for i, g := range dys {
				v := b[ob+i*sb]
				d[ob+i*sb] -= g * a[oa+i*sa] / (v * v)
			}
		}
	})
}

// binaryBackRun handles a run of BinaryBackward whose operands are each
// contiguous or broadcast along it, for Add, Sub and Mul, and reports
// whether it did. The sums are taken in the same order as the general loop.
func binaryBackRun[T Float](op BinaryKind, which int, a, b, dys, d []T, oa, ob, sa, sb int) bool {
	if (sa|sb)&^1 != 0 || op == Div {
		return false
	}
	n := len(dys)
	if which == 1 {
		// The gradient of b: d is laid out like b and the other operand is a
		// (Sub negates).
		b, oa, ob, sa, sb = a, ob, oa, sb, sa
	}
	sign := T(1)
	if which == 1 && op == Sub {
		sign = -1
	}
	switch {
	case sa == 1 && op != Mul:
		ds := d[oa : oa+n]
		if sign > 0 {
			for i, g := range dys {
				ds[i] += g
			}
		} else {
			for i, g := range dys {
				ds[i] -= g
			}
		}
	case sa == 0 && op != Mul:
		acc := d[oa]
		if sign > 0 {
			for _, g := range dys {
				acc += g
			}
		} else {
			for _, g := range dys {
				acc -= g
			}
		}
		d[oa] = acc
	case sa == 1 && sb == 1:
		ds, bs := d[oa:oa+n], b[ob:ob+n]
		for i, g := range dys {
			ds[i] += g * bs[i]
		}
	case sa == 1 && sb == 0:
		ds, bv := d[oa:oa+n], b[ob]
		for i, g := range dys {
			ds[i] += g * bv
		}
	case sa == 0 && sb == 1:
		acc, bs := d[oa], b[ob:ob+n]
		for i, g := range dys {
			acc += g * bs[i]
		}
		d[oa] = acc
	default: // both broadcast along the run
		acc, bv := d[oa], b[ob]
		for _, g := range dys {
			acc += g * bv
		}
		d[oa] = acc
	}
	return true
}
