package ir

import (
	"fmt"
	"slices"
)

// pushSlices moves each Slice that keeps part of a non-batch axis ahead of
// the ops before it that compute that axis row by row, so that they compute
// only the rows kept. A vision transformer reads only its class token after
// the last block: with the Slice moved, that block's MLP, layer norms,
// residual sums, output projection, attention rows and softmax run on one
// token instead of all of them (1/12 of ViT-B/16's dense products).
//
// A Slice moves past an op only when nothing else reads the op's output, and
// only through ops whose kept outputs depend on the same part of their
// inputs: elementwise ops (the other operand sliced too, unless it
// broadcasts there), LayerNorm, Softmax and Dense along another axis,
// Transpose, a Reshape that keeps the sliced axes, and MatMul along the rows
// of its first operand. Identical Slices of one value are merged first. The
// values kept are computed by the same arithmetic; products over fewer rows
// may round differently in the last bit.
func (g *Graph) pushSlices() {
	for g.mergeSlices() || g.pushSlice() {
	}
	g.prune()
}

// mergeSlices makes the readers of identical Slices of one value read the
// first of them; it reports whether it changed anything.
func (g *Graph) mergeSlices() bool {
	changed := false
	for _, ns := range g.consumers() {
		for i, a := range ns {
			sa, ok := a.Op.(Slice)
			if !ok || a.Inputs == nil {
				continue
			}
			for _, b := range ns[i+1:] {
				if sb, ok := b.Op.(Slice); ok && b.Inputs != nil && sameSlice(sa, sb) {
					g.replace(b.Output, a.Output)
					b.Inputs = nil
					changed = true
				}
			}
		}
	}
	if changed {
		g.prune()
	}
	return changed
}

func sameSlice(a, b Slice) bool {
	return slices.Equal(a.Starts, b.Starts) && slices.Equal(a.Ends, b.Ends) && slices.Equal(a.Steps, b.Steps)
}

// pushSlice moves one Slice one op up; it reports whether it found one.
func (g *Graph) pushSlice() bool {
	rd := g.readers()
	for _, s := range g.Nodes {
		sl, ok := s.Op.(Slice)
		if !ok || len(s.Inputs) != 1 {
			continue
		}
		v := s.Inputs[0]
		p := v.Producer
		if p == nil || rd[v] != 1 || v.Shape.PerSample() <= s.Output.Shape.PerSample() {
			continue
		}
		cut, ok := slicedAxes(sl, v.Shape)
		if !ok {
			continue
		}
		in, ok := sliceInputs(p, sl, cut, v.Shape)
		if !ok {
			continue
		}
		if g.moveSlice(s, p, in) {
			return true
		}
	}
	return false
}

// slicedAxes returns the axes sl does not keep whole; ok is false when it
// steps by other than 1 or touches the batch axis.
func slicedAxes(sl Slice, x Shape) (cut []int, ok bool) {
	for d := range x {
		if sl.Steps[d] != 1 {
			return nil, false
		}
		if sl.Starts[d] == 0 && sl.Ends[d] == x[d] {
			continue
		}
		if x[d] == Batch {
			return nil, false
		}
		cut = append(cut, d)
	}
	return cut, len(cut) > 0
}

// sliceInputs returns, for each input of p, the Slice that keeps what the
// kept part of p's output x reads of it (nil: the input is read whole), or
// ok false when p's outputs there depend on more.
func sliceInputs(p *Node, sl Slice, cut []int, x Shape) (in []*Slice, ok bool) {
	in = make([]*Slice, len(p.Inputs))
	r := len(x)
	// along is the Slice of an input of shape s that keeps, on axis
	// axisOf(d), what sl keeps of output axis d; the input is whole where
	// axisOf gives −1 (no counterpart there, or one it broadcasts).
	along := func(s Shape, axisOf func(d int) int) *Slice {
		n := &Slice{Starts: make([]int, len(s)), Ends: slices.Clone([]int(s)), Steps: make([]int, len(s))}
		for i := range n.Steps {
			n.Steps[i] = 1
		}
		for _, d := range cut {
			if a := axisOf(d); a >= 0 {
				n.Starts[a], n.Ends[a] = sl.Starts[d], sl.Ends[d]
			}
		}
		return n
	}
	same := func(d int) int { return d }
	switch op := p.Op.(type) {
	case Unary:
		in[0] = along(p.Inputs[0].Shape, same)
	case Binary:
		for i, u := range p.Inputs {
			ru := len(u.Shape)
			need := false
			for _, d := range cut {
				du := d - (r - ru)
				switch {
				case du < 0 || u.Shape[du] == 1:
				case u.Shape[du] == x[d] && !u.IsConst():
					need = true
				default:
					return nil, false
				}
			}
			if need {
				in[i] = along(u.Shape, func(d int) int {
					if du := d - (r - ru); du >= 0 && u.Shape[du] != 1 {
						return du
					}
					return -1
				})
			}
		}
	case LayerNorm:
		if slices.Max(cut) >= op.Axis {
			return nil, false
		}
		in[0] = along(p.Inputs[0].Shape, same)
	case Softmax:
		if slices.Contains(cut, op.Axis) {
			return nil, false
		}
		in[0] = along(p.Inputs[0].Shape, same)
	case Dense:
		if slices.Max(cut) >= r-1 {
			return nil, false
		}
		in[0] = along(p.Inputs[0].Shape, same)
	case Transpose:
		in[0] = along(p.Inputs[0].Shape, func(d int) int { return op.Perm[d] })
	case Reshape:
		s := p.Inputs[0].Shape
		k := 0
		for k < min(len(s), r) && s[k] == x[k] {
			k++
		}
		if slices.Max(cut) >= k {
			return nil, false
		}
		in[0] = along(s, same)
	case MatMul:
		a := p.Inputs[0]
		if r < 2 || len(a.Shape) < 2 || len(cut) != 1 || cut[0] != r-2 || a.IsConst() {
			return nil, false
		}
		in[0] = along(a.Shape, func(int) int { return len(a.Shape) - 2 })
	default:
		return nil, false
	}
	return in, true
}

// moveSlice makes p read the Slices in of its inputs and compute what s
// kept, s's readers reading p; it changes nothing and reports false when a
// shape does not work out.
func (g *Graph) moveSlice(s, p *Node, in []*Slice) bool {
	inputs := slices.Clone(p.Inputs)
	var added []*Node
	for i, op := range in {
		if op == nil {
			continue
		}
		u := inputs[i]
		sh, err := inferShape(*op, []Shape{u.Shape})
		if err != nil {
			return false
		}
		n := &Node{Name: fmt.Sprintf("%s/input%d", s.Name, i), Op: *op, Inputs: []*Value{u}, Source: "Slice (moved before " + p.Op.Kind() + ")"}
		n.Output = &Value{Name: n.Name, Shape: sh, Producer: n}
		added = append(added, n)
		inputs[i] = n.Output
	}
	want := s.Output.Shape
	if _, ok := p.Op.(Reshape); !ok {
		shapes := make([]Shape, len(inputs))
		for i, u := range inputs {
			shapes[i] = u.Shape
		}
		sh, err := inferShape(p.Op, shapes)
		if err != nil || !sh.Equal(want) {
			return false
		}
	}
	at := slices.Index(g.Nodes, p)
	g.Nodes = slices.Insert(g.Nodes, at, added...)
	p.Inputs = inputs
	p.Output.Shape = want.Clone()
	g.replace(s.Output, p.Output)
	s.Inputs = nil
	g.prune()
	return true
}
