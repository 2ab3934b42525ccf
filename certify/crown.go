package certify

import (
	"context"
	"math"

	"github.com/advcheck/advcheck/models/ir"
)

// A backward pass bounds rows·v from below, for a value v and a matrix of
// rows (rows × size(v)), by a linear function of an earlier value plus a
// constant:
//
//	rows·v ≥ A·u + bias − slack   for every input in the box,
//
// moving A from each node's output to its inputs in reverse topological
// order. Linear nodes move A exactly (A·J); ReLU-like nodes and max pooling
// move it through a linear relaxation chosen per sign of each coefficient;
// any other node, and in IBP mode every nonlinear node, ends the pass: A is
// concretised against that node's box (Σ A⁺·lo + A⁻·hi).
//
// slack bounds the floating-point error of everything computed. Every
// coefficient of A at a value is a sum of products of the coefficients at
// its consumers' outputs, at most N of them, N the number of values of all
// activations of the graph together (Verifier.terms); so A·J is off by at
// most γ_N·|A||J| elementwise, which against any u in its box costs at most
// γ_N·Σ|A|·(|J||u| + |b|) ≤ γ_N·Σ|A|·mag, with mag recorded by the forward
// pass. The relaxations, the copies and the bias sums are counted the same
// way. Using one γ_N for all steps makes the errors of the partial sums of
// several consumers add up (Higham's bound for one sum of all their terms).

type pass struct {
	s     *state
	rows  int
	a     map[*ir.Value][]float64
	lower []float64 // bias so far: the constant terms
	slack []float64 // ≥ 0, subtracted at the end
	g     float64   // γ_N, see above
}

// backward returns lower bounds of each of the n rows of rows·start. With
// crown false every nonlinear node is concretised against its box (IBP with
// the trailing linear layers folded into the rows); with crown true the pass
// goes through the relaxations down to the graph input.
func (s *state) backward(ctx context.Context, start *ir.Value, rows []float64, n int, crown bool) ([]float64, error) {
	p := &pass{s: s, rows: n, a: map[*ir.Value][]float64{start: rows}, lower: make([]float64, n), slack: make([]float64, n), g: gamma(s.v.terms)}
	g := s.v.g
	first := s.v.index[start]
	for i := first; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		node := g.Nodes[i]
		a := p.a[node.Output]
		if a == nil {
			continue
		}
		delete(p.a, node.Output)
		if !(crown && p.through(node, a)) && !(!crown && isLinear(node) && p.through(node, a)) {
			p.concretize(a, s.boxes[node.Output])
		}
	}
	if a := p.a[g.Input]; a != nil {
		p.concretize(a, s.boxes[g.Input])
	}
	out := make([]float64, n)
	for r := range out {
		out[r] = down(p.lower[r] - p.slack[r]*(1+0x1p-30) - tiny)
		if math.IsNaN(out[r]) {
			out[r] = math.Inf(-1)
		}
	}
	return out, nil
}

// into returns the accumulator of A for value v (zeros at first), or nil
// for constants.
func (p *pass) into(v *ir.Value) []float64 {
	if v.IsConst() {
		return nil
	}
	if a := p.a[v]; a != nil {
		return a
	}
	a := make([]float64, p.rows*len(p.s.boxes[v].lo))
	if v == p.s.v.g.Input {
		a = make([]float64, p.rows*v.Shape.PerSample())
	}
	p.a[v] = a
	return a
}

// addBias adds d to the constant of row r, counting the rounding of the sum.
func (p *pass) addBias(r int, d float64) {
	p.lower[r] += d
	p.slack[r] += math.Abs(p.lower[r]) * 0x1p-52
}

// concretize ends the pass at a value with box b: the lowest value of A·u
// over the box.
func (p *pass) concretize(a []float64, b box) {
	m := len(b.lo)
	g := gamma(m)
	for r := 0; r < p.rows; r++ {
		row := a[r*m : (r+1)*m]
		s, mag := 0.0, 0.0
		for j, c := range row {
			switch {
			case c > 0:
				s += c * b.lo[j]
			case c < 0:
				s += c * b.hi[j]
			default:
				continue
			}
			mag += math.Abs(c) * math.Max(math.Abs(b.lo[j]), math.Abs(b.hi[j]))
		}
		p.addBias(r, s)
		p.slack[r] += g*mag + float64(m)*tiny
	}
}

// linearSlack adds γ_N·Σ|A|·mag per row, mag bounding |J||u| + |b| at the
// output of the step (for a linear node, the forward pass's magnitude).
func (p *pass) linearSlack(a []float64, mag []float64) {
	m := len(mag)
	for r := 0; r < p.rows; r++ {
		row := a[r*m : (r+1)*m]
		t := 0.0
		for j, c := range row {
			if c != 0 {
				t += math.Abs(c) * mag[j]
			}
		}
		p.slack[r] += p.g*t*(1+gamma(m)) + float64(m)*tiny
	}
}

// boxMag is max(|lo|, |hi|) elementwise.
func boxMag(b box) []float64 {
	m := make([]float64, len(b.lo))
	for i := range m {
		m[i] = math.Max(math.Abs(b.lo[i]), math.Abs(b.hi[i]))
	}
	return m
}

// through moves A across node n to its inputs and reports whether it could;
// when it reports false nothing has been changed.
func (p *pass) through(n *ir.Node, a []float64) bool {
	switch op := n.Op.(type) {
	case ir.Reshape:
		dst := p.into(n.Inputs[0])
		for i, c := range a {
			dst[i] += c
		}
		p.linearSlack(a, boxMag(p.s.boxes[n.Output]))
		return true
	case ir.Dense:
		p.dense(n, a)
		return true
	case ir.MatMul:
		if n.Inputs[1].IsConst() && !n.Inputs[0].IsConst() && len(n.Inputs[1].Const.Shape) == 2 {
			p.dense(n, a)
			return true
		}
	case ir.Conv:
		p.conv(n, op, a)
		return true
	case ir.Pool:
		if op.Max {
			p.maxPool(n, op, a)
		} else {
			p.avgPool(n, op, a)
		}
		return true
	case ir.GlobalAvgPool:
		p.globalAvg(n, a)
		return true
	case ir.Binary:
		return p.binary(n, op, a)
	case ir.Unary:
		if relaxedUnary(n) {
			p.relu(n, op, a)
			return true
		}
		if op.Func == ir.Neg {
			dst := p.into(n.Inputs[0])
			for i, c := range a {
				dst[i] -= c
			}
			p.linearSlack(a, boxMag(p.s.boxes[n.Output]))
			return true
		}
	}
	return false
}

// dense: y[..., m] = Σ_k x[..., k]·W[k, m] + b[m].
func (p *pass) dense(n *ir.Node, a []float64) {
	w := p.s.v.constant(n.Inputs[1])
	k, m := w.Shape[0], w.Shape[1]
	outSize := len(p.s.boxes[n.Output].lo)
	lead := outSize / m
	dst := p.into(n.Inputs[0])
	inSize := lead * k
	var bias []float64
	if len(n.Inputs) > 2 {
		bias = p.s.v.constant(n.Inputs[2]).Data
	}
	for r := 0; r < p.rows; r++ {
		ar := a[r*outSize : (r+1)*outSize]
		dr := dst[r*inSize : (r+1)*inSize]
		bsum := 0.0
		for q := 0; q < lead; q++ {
			aq := ar[q*m : (q+1)*m]
			dq := dr[q*k : (q+1)*k]
			for kk := 0; kk < k; kk++ {
				wrow := w.Data[kk*m : (kk+1)*m]
				s := 0.0
				for j, c := range aq {
					s += c * wrow[j]
				}
				dq[kk] += s
			}
			if bias != nil {
				for j, c := range aq {
					bsum += c * bias[j]
				}
			}
		}
		p.addBias(r, bsum)
	}
	p.linearSlack(a, p.s.mag[n.Output])
}

// conv: the transpose of the convolution, row by row.
func (p *pass) conv(n *ir.Node, op ir.Conv, a []float64) {
	w := p.s.v.constant(n.Inputs[1])
	in, out := shape1(n.Inputs[0]), shape1(n.Output)
	c, h, wd := in[1], in[2], in[3]
	m, oh, ow := out[1], out[2], out[3]
	cg, kh, kw := w.Shape[1], w.Shape[2], w.Shape[3]
	mg := m / op.Group
	outSize, inSize := m*oh*ow, c*h*wd
	dst := p.into(n.Inputs[0])
	var bias []float64
	if len(n.Inputs) > 2 {
		bias = p.s.v.constant(n.Inputs[2]).Data
	}
	for r := 0; r < p.rows; r++ {
		ar := a[r*outSize : (r+1)*outSize]
		dr := dst[r*inSize : (r+1)*inSize]
		bsum := 0.0
		for mi := 0; mi < m; mi++ {
			g := mi / mg
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					cf := ar[(mi*oh+i)*ow+j]
					if cf == 0 {
						continue
					}
					if bias != nil {
						bsum += cf * bias[mi]
					}
					for ci := 0; ci < cg; ci++ {
						cin := g*cg + ci
						for ka := 0; ka < kh; ka++ {
							rr := i*op.Strides[0] - op.Pads[0] + ka*op.Dilations[0]
							if rr < 0 || rr >= h {
								continue
							}
							wbase := ((mi*cg+ci)*kh + ka) * kw
							dbase := (cin*h + rr) * wd
							for kb := 0; kb < kw; kb++ {
								q := j*op.Strides[1] - op.Pads[1] + kb*op.Dilations[1]
								if q < 0 || q >= wd {
									continue
								}
								dr[dbase+q] += cf * w.Data[wbase+kb]
							}
						}
					}
				}
			}
		}
		p.addBias(r, bsum)
	}
	p.linearSlack(a, p.s.mag[n.Output])
}

// poolWindow calls f(k) for the flat input index of each element of the
// window of output (i, j) in channel plane ch, skipping padding.
func poolWindow(op ir.Pool, h, w, ch, i, j int, f func(k int)) {
	r0, q0 := i*op.Strides[0]-op.Pads[0], j*op.Strides[1]-op.Pads[1]
	for a := 0; a < op.Kernel[0]; a++ {
		r := r0 + a*op.Dilations[0]
		if r < 0 || r >= h {
			continue
		}
		for b := 0; b < op.Kernel[1]; b++ {
			q := q0 + b*op.Dilations[1]
			if q >= 0 && q < w {
				f((ch*h+r)*w + q)
			}
		}
	}
}

// avgPool: each output spreads A/div over its window (PyTorch's divisor
// rule, as the reference computes it).
func (p *pass) avgPool(n *ir.Node, op ir.Pool, a []float64) {
	in, out := shape1(n.Inputs[0]), shape1(n.Output)
	c, h, w := in[1], in[2], in[3]
	oh, ow := out[2], out[3]
	outSize, inSize := c*oh*ow, c*h*w
	dst := p.into(n.Inputs[0])
	for ch := 0; ch < c; ch++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				r0, q0 := i*op.Strides[0]-op.Pads[0], j*op.Strides[1]-op.Pads[1]
				r1, q1 := min(r0+op.Kernel[0], h+op.Pads[2]), min(q0+op.Kernel[1], w+op.Pads[3])
				div := (r1 - r0) * (q1 - q0)
				if !op.CountIncludePad {
					div = (min(r1, h) - max(r0, 0)) * (min(q1, w) - max(q0, 0))
				}
				o := (ch*oh+i)*ow + j
				for r := 0; r < p.rows; r++ {
					cf := a[r*outSize+o]
					if cf == 0 {
						continue
					}
					d := cf / float64(div)
					dr := dst[r*inSize : (r+1)*inSize]
					// The reference averages the window without dilation.
					for rr := max(r0, 0); rr < min(r1, h); rr++ {
						for q := max(q0, 0); q < min(q1, w); q++ {
							dr[(ch*h+rr)*w+q] += d
						}
					}
				}
			}
		}
	}
	p.linearSlack(a, p.s.mag[n.Output])
}

func (p *pass) globalAvg(n *ir.Node, a []float64) {
	in := shape1(n.Inputs[0])
	c, hw := in[1], in[2]*in[3]
	dst := p.into(n.Inputs[0])
	for r := 0; r < p.rows; r++ {
		for ch := 0; ch < c; ch++ {
			d := a[r*c+ch] / float64(hw)
			if d == 0 {
				continue
			}
			base := r*c*hw + ch*hw
			for k := 0; k < hw; k++ {
				dst[base+k] += d
			}
		}
	}
	p.linearSlack(a, p.s.mag[n.Output])
}

// maxPool relaxes y = max over a window W by y ≥ x_k* (k* the element of
// the largest lower bound) and y ≤ x_k* when x_k*'s lower bound is at least
// every other upper bound (then y = x_k*), else y ≤ max_W hi.
func (p *pass) maxPool(n *ir.Node, op ir.Pool, a []float64) {
	in, out := shape1(n.Inputs[0]), shape1(n.Output)
	c, h, w := in[1], in[2], in[3]
	oh, ow := out[2], out[3]
	outSize, inSize := c*oh*ow, c*h*w
	b := p.s.boxes[n.Inputs[0]]
	dst := p.into(n.Inputs[0])
	best := make([]int, outSize)
	exact := make([]bool, outSize)
	top := make([]float64, outSize)
	for ch := 0; ch < c; ch++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				o := (ch*oh+i)*ow + j
				k0, u := -1, math.Inf(-1)
				poolWindow(op, h, w, ch, i, j, func(k int) {
					if k0 < 0 || b.lo[k] > b.lo[k0] {
						k0 = k
					}
					u = math.Max(u, b.hi[k])
				})
				dom := true
				poolWindow(op, h, w, ch, i, j, func(k int) {
					if k != k0 && b.hi[k] > b.lo[k0] {
						dom = false
					}
				})
				best[o], exact[o], top[o] = k0, dom, u
			}
		}
	}
	for r := 0; r < p.rows; r++ {
		bsum, mag := 0.0, 0.0
		for o := 0; o < outSize; o++ {
			cf := a[r*outSize+o]
			switch {
			case cf == 0:
			case cf > 0 || exact[o]:
				dst[r*inSize+best[o]] += cf
				k := best[o]
				mag += math.Abs(cf) * math.Max(math.Abs(b.lo[k]), math.Abs(b.hi[k]))
			default:
				bsum += cf * top[o]
				mag += math.Abs(cf * top[o])
			}
		}
		p.addBias(r, bsum)
		p.slack[r] += p.g * mag
	}
}

// binary: sums of two activations, and arithmetic with a constant that does
// not broadcast the activation to a larger shape.
func (p *pass) binary(n *ir.Node, op ir.Binary, a []float64) bool {
	out := len(p.s.boxes[n.Output].lo)
	x0, x1 := n.Inputs[0], n.Inputs[1]
	same := func(v *ir.Value) bool { return v.IsConst() || len(p.s.boxes[v].lo) == out }
	if !same(x0) || !same(x1) {
		return false
	}
	if !x0.IsConst() && !x1.IsConst() {
		if op.Op != ir.Add && op.Op != ir.Sub {
			return false
		}
		d0, d1 := p.into(x0), p.into(x1)
		for i, c := range a {
			d0[i] += c
			if op.Op == ir.Add {
				d1[i] += c
			} else {
				d1[i] -= c
			}
		}
		// x0 and x1 may be the same value: then d0 and d1 alias, as they should.
		return true
	}
	cb := p.s.v.bcast[n]
	if cb == nil {
		return false
	}
	x, first := x0, true
	if x0.IsConst() {
		x, first = x1, false
	}
	if op.Op == ir.Div && !first {
		return false
	}
	d := p.into(x)
	for r := 0; r < p.rows; r++ {
		ar, dr := a[r*out:(r+1)*out], d[r*out:(r+1)*out]
		bsum := 0.0
		for i, c := range ar {
			if c == 0 {
				continue
			}
			switch op.Op {
			case ir.Add:
				dr[i] += c
				bsum += c * cb[i]
			case ir.Sub:
				if first {
					dr[i] += c
					bsum -= c * cb[i]
				} else {
					dr[i] -= c
					bsum += c * cb[i]
				}
			case ir.Mul:
				dr[i] += c * cb[i]
			case ir.Div:
				dr[i] += c / cb[i]
			}
		}
		p.addBias(r, bsum)
	}
	p.linearSlack(a, p.s.mag[n.Output])
	return true
}

// relu relaxes y = f(x), f ReLU or leaky ReLU with slope α ∈ [0, 1], over
// the input box [l, u]: f is convex, so the chord from (l, f(l)) to
// (u, f(u)) lies above it and any line through the origin with a slope in
// [α, 1] lies below. The lower slope is CROWN's adaptive choice: 1 when
// u ≥ −l, else α, the one of the two whose gap to f has the smaller area.
// A coefficient c ≥ 0 takes the lower line, c < 0 the upper.
func (p *pass) relu(n *ir.Node, op ir.Unary, a []float64) {
	alpha := 0.0
	if op.Func == ir.LeakyRelu {
		alpha = op.Alpha
	}
	b := p.s.boxes[n.Inputs[0]]
	m := len(b.lo)
	lowS := make([]float64, m)
	upS, upT := make([]float64, m), make([]float64, m)
	xmax := make([]float64, m)
	for j := 0; j < m; j++ {
		l, u := b.lo[j], b.hi[j]
		xmax[j] = math.Max(math.Abs(l), math.Abs(u))
		switch {
		case l >= 0:
			lowS[j], upS[j] = 1, 1
		case u <= 0:
			lowS[j], upS[j] = alpha, alpha
		default:
			if u >= -l {
				lowS[j] = 1
			} else {
				lowS[j] = alpha
			}
			// Chord s·x + t through (l, αl) and (u, u). Rounded s and t
			// could leave the line a hair below f at an end, so t is the
			// larger of what either end needs, raised by a few ulps of the
			// terms; above f at both ends, a line is above the convex f
			// on the whole interval.
			s := (u - alpha*l) / (u - l)
			t := math.Max(alpha*l-s*l, u-s*u)
			t += (math.Abs(s*l) + math.Abs(u) + math.Abs(alpha*l)) * 0x1p-50
			upS[j], upT[j] = s, t
		}
	}
	dst := p.into(n.Inputs[0])
	for r := 0; r < p.rows; r++ {
		ar, dr := a[r*m:(r+1)*m], dst[r*m:(r+1)*m]
		bsum, mag := 0.0, 0.0
		for j, c := range ar {
			switch {
			case c > 0:
				dr[j] += c * lowS[j]
				mag += c * lowS[j] * xmax[j]
			case c < 0:
				dr[j] += c * upS[j]
				bsum += c * upT[j]
				mag += -c * (upS[j]*xmax[j] + upT[j])
			}
		}
		p.addBias(r, bsum)
		p.slack[r] += p.g * mag
	}
}
