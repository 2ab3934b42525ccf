package certify

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models/ir"
)

// box is an interval per value of one sample: lo[i] ≤ v[i] ≤ hi[i].
type box struct{ lo, hi []float64 }

// state holds the bounds of one certification.
type state struct {
	v     *Verifier
	boxes map[*ir.Value]box
	// mag bounds |J|·|x| + |b| elementwise at the output of a linear node
	// y = Jx + b, for x in the node's input box: the scale of the rounding
	// error of any product with J (see backward).
	mag map[*ir.Value][]float64
	// nonlinear marks values that depend on the input through a relaxed op;
	// the others are affine in the input and IBP bounds them tightly.
	nonlinear map[*ir.Value]bool
}

func (v *Verifier) newState(xl, xu []float64) *state {
	s := &state{v: v, boxes: map[*ir.Value]box{}, mag: map[*ir.Value][]float64{}, nonlinear: map[*ir.Value]bool{}}
	s.boxes[v.g.Input] = box{xl, xu}
	return s
}

// forward bounds every node output by IBP; with CROWN the input box of each
// ReLU-like activation is first tightened by a backward pass. It returns
// the description of the node that stopped it, or "".
func (s *state) forward(ctx context.Context, method Method) (string, error) {
	maxRefine := s.v.MaxRefine
	if maxRefine == 0 {
		maxRefine = DefaultMaxRefine
	}
	largest := len(s.boxes[s.v.g.Input].lo)
	for _, n := range s.v.g.Nodes {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if method == CROWN && relaxedUnary(n) {
			p := n.Inputs[0]
			// A refinement holds 2·size coefficients per value of a layer.
			if size := len(s.boxes[p].lo); s.nonlinear[p] && size <= maxRefine && 2*size*largest <= maxRefineCoefficients {
				if err := s.refine(ctx, p); err != nil {
					return "", err
				}
			}
		}
		b, why := s.ibpNode(n)
		if why != "" {
			return fmt.Sprintf("%s node %q (%s)", n.Op.Kind(), n.Name, why), nil
		}
		for i := range b.lo {
			if math.IsNaN(b.lo[i]) || math.IsNaN(b.hi[i]) {
				return fmt.Sprintf("%s node %q (a bound is not a number)", n.Op.Kind(), n.Name), nil
			}
		}
		s.boxes[n.Output] = b
		largest = max(largest, len(b.lo))
		nl := !isLinear(n)
		for _, in := range n.Inputs {
			nl = nl || s.nonlinear[in]
		}
		s.nonlinear[n.Output] = nl
	}
	return "", nil
}

// refine tightens the box of p by CROWN: lower bounds of p and of −p.
func (s *state) refine(ctx context.Context, p *ir.Value) error {
	b := s.boxes[p]
	m := len(b.lo)
	rows := make([]float64, 2*m*m)
	for j := 0; j < m; j++ {
		rows[j*m+j] = 1
		rows[(m+j)*m+j] = -1
	}
	lower, err := s.backward(ctx, p, rows, 2*m, true)
	if err != nil {
		return err
	}
	lo, hi := append([]float64(nil), b.lo...), append([]float64(nil), b.hi...)
	for j := 0; j < m; j++ {
		if l := lower[j]; l > lo[j] {
			lo[j] = l
		}
		if u := -lower[m+j]; u < hi[j] {
			hi[j] = u
		}
		if lo[j] > hi[j] {
			// Both are sound bounds of the same value, so they overlap in
			// exact arithmetic; only a bug could get here.
			return fmt.Errorf("certify: internal error: empty bounds [%v, %v] for %q[%d]", lo[j], hi[j], p.Name, j)
		}
	}
	s.boxes[p] = box{lo, hi}
	return nil
}

// relaxedUnary reports whether n is an activation CROWN relaxes linearly.
func relaxedUnary(n *ir.Node) bool {
	u, ok := n.Op.(ir.Unary)
	return ok && (u.Func == ir.Relu || u.Func == ir.LeakyRelu && u.Alpha >= 0 && u.Alpha <= 1)
}

// isLinear reports whether n is affine in its dynamic inputs.
func isLinear(n *ir.Node) bool {
	switch op := n.Op.(type) {
	case ir.Conv, ir.Dense, ir.Reshape, ir.Transpose, ir.Slice, ir.Concat, ir.Pad, ir.GlobalAvgPool, ir.Reduce:
		return true
	case ir.MatMul:
		return n.Inputs[0].IsConst() != n.Inputs[1].IsConst()
	case ir.Pool:
		return !op.Max
	case ir.Binary:
		a, b := n.Inputs[0].IsConst(), n.Inputs[1].IsConst()
		switch op.Op {
		case ir.Add, ir.Sub:
			return true
		case ir.Mul:
			return a != b
		case ir.Div:
			return b && !a
		}
	case ir.Unary:
		return op.Func == ir.Neg
	}
	return false
}

// ibpNode bounds n's output from its inputs' boxes, or says why it cannot.
func (s *state) ibpNode(n *ir.Node) (box, string) {
	out := shape1(n.Output)
	switch op := n.Op.(type) {
	case ir.Conv, ir.Dense:
		return s.affine(n, out, fanIn(n))
	case ir.MatMul:
		if n.Inputs[0].IsConst() == n.Inputs[1].IsConst() {
			return box{}, "a product of two activations"
		}
		return s.affine(n, out, fanIn(n))
	case ir.Reshape, ir.Transpose, ir.Slice, ir.Concat, ir.Pad:
		// Copies of elements (and of the padding constant): exact on the ends.
		return s.monotone(n, out)
	case ir.Pool:
		if op.Max {
			return s.monotone(n, out)
		}
		return s.positive(n, out, op.Kernel[0]*op.Kernel[1]+1)
	case ir.GlobalAvgPool:
		sh := shape1(n.Inputs[0])
		return s.positive(n, out, sh[2]*sh[3]+1)
	case ir.Reduce:
		return s.positive(n, out, prod(shape1(n.Inputs[0]))/max(1, prod(out))+1)
	case ir.ReduceMax:
		return s.monotone(n, out)
	case ir.Binary:
		return s.binary(n, op, out)
	case ir.Unary:
		return s.unary(n, op)
	}
	return box{}, "no sound bound for this op"
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// fanIn is the number of products summed into one output of a Conv, Dense
// or MatMul, plus one for the bias.
func fanIn(n *ir.Node) int {
	switch op := n.Op.(type) {
	case ir.Conv:
		w := n.Inputs[1].Const.Shape
		return w[1]*w[2]*w[3] + 1
	case ir.Dense:
		return n.Inputs[1].Const.Shape[0] + 1
	case ir.MatMul:
		a := n.Inputs[0].Shape
		if n.Inputs[0].IsConst() {
			a = ir.Shape(n.Inputs[0].Const.Shape)
		}
		if len(a) == 1 {
			return a[0]
		}
		return a[len(a)-1]
	default:
		_ = op
	}
	return 1
}

// operands returns, for each input, the tensors of its midpoint, radius and
// absolute midpoint (constants: the value, zeros, its absolute value).
func (s *state) operands(n *ir.Node) (mid, rad, amid []*ir.Tensor) {
	for _, in := range n.Inputs {
		if in.IsConst() {
			c := s.v.constant(in)
			mid = append(mid, c)
			rad = append(rad, &ir.Tensor{Shape: c.Shape, Data: make([]float64, len(c.Data))})
			amid = append(amid, s.v.abs[in])
			continue
		}
		b, sh := s.boxes[in], shape1(in)
		m, r, a := ir.NewTensor(sh...), ir.NewTensor(sh...), ir.NewTensor(sh...)
		for i := range b.lo {
			// Any midpoint works as long as the radius covers both ends.
			c := b.lo[i]/2 + b.hi[i]/2
			m.Data[i] = c
			r.Data[i] = up(math.Max(b.hi[i]-c, c-b.lo[i]))
			a.Data[i] = math.Abs(c)
		}
		mid, rad, amid = append(mid, m), append(rad, r), append(amid, a)
	}
	return mid, rad, amid
}

// affine bounds y = Wx + b (Conv, Dense, MatMul with one constant operand)
// as mid ± rad with mid = W·c + b, rad = |W|·r, widened by the rounding
// error γ_n·(|W||c| + |b| + |W|r).
func (s *state) affine(n *ir.Node, out []int, fan int) (box, string) {
	mid, rad, amid := s.operands(n)
	// |W| and |b| for the radius and the magnitude; x stays in its slot.
	absIn := make([]*ir.Tensor, len(n.Inputs))
	radIn := make([]*ir.Tensor, len(n.Inputs))
	for i, in := range n.Inputs {
		if in.IsConst() {
			absIn[i], radIn[i] = s.v.abs[in], s.v.abs[in]
		} else {
			absIn[i], radIn[i] = amid[i], rad[i]
		}
	}
	if _, ok := n.Op.(ir.MatMul); !ok && len(radIn) > 2 {
		radIn = radIn[:2] // no bias in the radius
	}
	return s.combine(n, out, fan, mid, radIn, absIn)
}

// positive bounds linear ops whose Jacobian is non-negative and that have
// no constant term (average pools, sums): the op applied to the radius is
// |J|·r, applied to |c| it is |J||c|. fan is the number of roundings in one
// output.
func (s *state) positive(n *ir.Node, out []int, fan int) (box, string) {
	mid, rad, amid := s.operands(n)
	return s.combine(n, out, fan, mid, rad, amid)
}

func (s *state) combine(n *ir.Node, out []int, fan int, mid, rad, amid []*ir.Tensor) (box, string) {
	return s.combineOps(n, out, fan, n.Op, mid, n.Op, rad, n.Op, amid)
}

// combineOps evaluates the midpoint, radius and magnitude of a linear node
// and returns its box, widened outwards; it records the magnitude for the
// backward pass.
func (s *state) combineOps(n *ir.Node, out []int, fan int, mop ir.Op, mid []*ir.Tensor, rop ir.Op, rad []*ir.Tensor, aop ir.Op, amid []*ir.Tensor) (box, string) {
	m, err := ir.EvalOp(mop, mid, out)
	if err != nil {
		return box{}, err.Error()
	}
	r, err := ir.EvalOp(rop, rad, out)
	if err != nil {
		return box{}, err.Error()
	}
	a, err := ir.EvalOp(aop, amid, out)
	if err != nil {
		return box{}, err.Error()
	}
	g := 0.0
	if fan > 0 {
		g = gamma(fan)
	}
	b := box{make([]float64, len(m.Data)), make([]float64, len(m.Data))}
	mag := make([]float64, len(m.Data))
	for i, c := range m.Data {
		// a + r bounds |J||x| + |b| over the box, up to their own
		// rounding (relative γ), which the factor covers.
		mg := (a.Data[i] + r.Data[i]) * (1 + 2*g + 0x1p-40)
		mag[i] = mg
		e := 0.0
		if fan > 0 {
			e = g*mg + float64(fan)*tiny
		}
		b.lo[i] = down(down(c-r.Data[i]) - e)
		b.hi[i] = up(up(c+r.Data[i]) + e)
	}
	s.mag[n.Output] = mag
	return b, ""
}

// binary bounds Add/Sub of two activations and arithmetic with a constant.
func (s *state) binary(n *ir.Node, op ir.Binary, out []int) (box, string) {
	ca, cb := n.Inputs[0].IsConst(), n.Inputs[1].IsConst()
	mid, rad, amid := s.operands(n)
	switch {
	case !ca && !cb && (op.Op == ir.Add || op.Op == ir.Sub):
		return s.combineOps(n, out, 1, op, mid, ir.Binary{Op: ir.Add}, rad, ir.Binary{Op: ir.Add}, amid)
	case !ca && !cb:
		return box{}, "a product or quotient of two activations"
	case op.Op == ir.Add || op.Op == ir.Sub:
		return s.combineOps(n, out, 1, op, mid, ir.Binary{Op: ir.Add}, rad, ir.Binary{Op: ir.Add}, amid)
	case op.Op == ir.Mul:
		return s.combineOps(n, out, 1, op, mid, op, absConst(n, rad, s), op, amid)
	case op.Op == ir.Div && cb:
		return s.combineOps(n, out, 2, op, mid, op, absConst(n, rad, s), op, amid)
	}
	return box{}, "division by an activation"
}

// absConst replaces the zero radius of the constant operand by |c|, so that
// the op applied to the operands is |c|·r.
func absConst(n *ir.Node, rad []*ir.Tensor, s *state) []*ir.Tensor {
	r := append([]*ir.Tensor(nil), rad...)
	for i, in := range n.Inputs {
		if in.IsConst() {
			r[i] = s.v.abs[in]
		}
	}
	return r
}

// monotone bounds ops that are non-decreasing in every dynamic input and
// compute nothing but copies and comparisons (reshapes, slices, padding,
// concatenation, max pooling, ReduceMax/Min) by applying them to the lower
// and to the upper ends: exact, no rounding.
func (s *state) monotone(n *ir.Node, out []int) (box, string) {
	los, his := make([]*ir.Tensor, len(n.Inputs)), make([]*ir.Tensor, len(n.Inputs))
	for i, in := range n.Inputs {
		if in.IsConst() {
			los[i], his[i] = s.v.constant(in), s.v.constant(in)
			continue
		}
		b, sh := s.boxes[in], shape1(in)
		los[i], his[i] = &ir.Tensor{Shape: sh, Data: b.lo}, &ir.Tensor{Shape: sh, Data: b.hi}
	}
	lo, err := ir.EvalOp(n.Op, los, out)
	if err != nil {
		return box{}, err.Error()
	}
	hi, err := ir.EvalOp(n.Op, his, out)
	if err != nil {
		return box{}, err.Error()
	}
	return box{lo.Data, hi.Data}, ""
}

// libWiden moves a value computed with a math library function (exp, tanh,
// erf, log1p) by far more than its error, a few ulps of its own magnitude or,
// after a cancellation such as exp(x) − 1, of scale: the direction is dir.
func libWiden(x, scale, dir float64) float64 {
	return x + dir*((math.Abs(x)+scale)*0x1p-40+0x1p-1000)
}

// unary bounds elementwise functions that are monotone (or, for Abs,
// piecewise monotone) on the box.
func (s *state) unary(n *ir.Node, op ir.Unary) (box, string) {
	b := s.boxes[n.Inputs[0]]
	lo, hi := make([]float64, len(b.lo)), make([]float64, len(b.lo))
	var f func(x float64) float64 // monotone, as the reference computes it
	exact, scale := false, 1.0
	switch op.Func {
	case ir.Relu:
		for i := range lo {
			lo[i], hi[i] = math.Max(b.lo[i], 0), math.Max(b.hi[i], 0)
		}
		return box{lo, hi}, ""
	case ir.Neg:
		for i := range lo {
			lo[i], hi[i] = -b.hi[i], -b.lo[i]
		}
		return box{lo, hi}, ""
	case ir.Abs:
		for i := range lo {
			l, u := b.lo[i], b.hi[i]
			switch {
			case l >= 0:
				lo[i], hi[i] = l, u
			case u <= 0:
				lo[i], hi[i] = -u, -l
			default:
				lo[i], hi[i] = 0, math.Max(-l, u)
			}
		}
		return box{lo, hi}, ""
	case ir.Clip:
		f, exact = func(x float64) float64 { return math.Min(math.Max(x, op.Min), op.Max) }, true
	case ir.LeakyRelu:
		if op.Alpha < 0 {
			return box{}, "LeakyRelu with a negative slope is not monotone"
		}
		f = func(x float64) float64 { // α·x is rounded: widened below
			if x < 0 {
				return op.Alpha * x
			}
			return x
		}
	case ir.Sigmoid:
		f = func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	case ir.Tanh:
		f = math.Tanh
	case ir.Exp:
		f = math.Exp
	case ir.Erf:
		f = math.Erf
	case ir.Softplus:
		f = func(x float64) float64 { return math.Log1p(math.Exp(x)) }
	case ir.Elu:
		if op.Alpha < 0 {
			return box{}, "Elu with a negative alpha is not monotone"
		}
		f, scale = func(x float64) float64 {
			if x < 0 {
				return op.Alpha * (math.Exp(x) - 1)
			}
			return x
		}, 1+op.Alpha
	case ir.HardSigmoid:
		f, scale = func(x float64) float64 { return math.Max(0, math.Min(1, op.Alpha*x+op.Beta)) }, 1+math.Abs(op.Beta)
	case ir.Sqrt:
		for i := range b.lo {
			if b.lo[i] < 0 {
				return box{}, "the square root of a value that may be negative"
			}
		}
		f = math.Sqrt
	default:
		return box{}, "no sound bound for this function"
	}
	for i := range lo {
		l, u := f(b.lo[i]), f(b.hi[i])
		if l > u { // non-increasing (HardSigmoid with a negative alpha)
			l, u = u, l
		}
		if !exact {
			l, u = libWiden(l, scale, -1), libWiden(u, scale, 1)
		}
		lo[i], hi[i] = l, u
	}
	return box{lo, hi}, ""
}
