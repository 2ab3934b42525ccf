package ir

import (
	"fmt"
	"math"
)

// finish runs the graph-level passes after import: the Softmax head, the
// output shape, affine folding and dead-node removal.
func (g *Graph) finish() error {
	// A final Softmax/LogSoftmax over the class axis is set aside: attacks
	// and margins need the tensor before it.
	if p := g.Output.Producer; p != nil {
		if sm, ok := p.Op.(Softmax); ok && sm.Axis == len(g.Output.Shape)-1 {
			g.Output = p.Inputs[0]
			if sm.Log {
				g.OutputKind = OutputLogProbabilities
			} else {
				g.OutputKind = OutputProbabilities
			}
			g.Notes = append(g.Notes, fmt.Sprintf("the final %s %q was set aside: attacks and metrics use the tensor before it", sm.Kind(), p.Name))
		}
	}
	s := g.Output.Shape
	if s.BatchAxis() != 0 {
		return errorf(ErrUnsupported, "the output %v does not have the batch first", s)
	}
	k := s.PerSample()
	if len(s) != 2 {
		for _, d := range s[1:] {
			if d != 1 && d != k {
				return errorf(ErrUnsupported, "the output %v is not one score per class", s)
			}
		}
		n := &Node{Name: "output/flatten", Op: Reshape{}, Inputs: []*Value{g.Output}, Source: "Reshape"}
		n.Output = &Value{Name: n.Name, Shape: Shape{Batch, k}, Producer: n}
		g.Nodes = append(g.Nodes, n)
		g.Output = n.Output
	}
	if k < 2 {
		return errorf(ErrUnsupported, "the output has %d class score; advcheck needs at least 2 classes", k)
	}
	g.Classes = k
	g.fuseLayerNorm()
	g.fuseGelu()
	g.foldAffine()
	g.pushSlices()
	g.prune()
	return g.Validate()
}

// consumers maps each value to the nodes that read it.
func (g *Graph) consumers() map[*Value][]*Node {
	c := map[*Value][]*Node{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			c[v] = append(c[v], n)
		}
	}
	return c
}

// replace makes every reader of old read nu instead.
func (g *Graph) replace(old, nu *Value) {
	for _, n := range g.Nodes {
		for i, v := range n.Inputs {
			if v == old {
				n.Inputs[i] = nu
			}
		}
	}
	if g.Output == old {
		g.Output = nu
	}
}

// channelConst returns the per-channel values of a constant that broadcasts
// against a [N×M×...] tensor along axis 1 only, or nil.
func channelConst(c *Tensor, rank, m int) []float64 {
	s := c.Shape
	if len(s) > rank {
		return nil
	}
	// Right-align against [N, M, rest...]: only the M axis may differ from 1.
	out := make([]float64, m)
	if c.Len() == 1 {
		fill := c.Float64s()[0]
		for i := range out {
			out[i] = fill
		}
		return out
	}
	if c.Len() != m {
		return nil
	}
	chAxis := len(s) - (rank - 1)
	if chAxis < 0 || s[chAxis] != m {
		return nil
	}
	copy(out, c.Float64s())
	return out
}

// foldAffine folds y = conv(x)·s + t style chains (BatchNorm, bias adds) into
// the convolution's weights and bias, and constant bias adds into Dense.
func (g *Graph) foldAffine() {
	for changed := true; changed; {
		changed = false
		cons := g.consumers()
		for _, n := range g.Nodes {
			b, ok := n.Op.(Binary)
			if !ok || len(n.Inputs) != 2 {
				continue
			}
			x, c := n.Inputs[0], n.Inputs[1]
			if b.Op == Add || b.Op == Mul {
				if x.IsConst() {
					x, c = c, x
				}
			}
			p := x.Producer
			if p == nil || !c.IsConst() || len(cons[x]) != 1 || g.Output == x {
				continue
			}
			if (b.Op == Sub || b.Op == Div) && n.Inputs[0] != x {
				continue // c − conv(x) and c / conv(x) are not affine in the conv
			}
			switch p.Op.(type) {
			case Conv:
				m := x.Shape[1]
				vals := channelConst(c.Const, len(x.Shape), m)
				if vals == nil || (b.Op == Div && anyZero(vals)) {
					continue
				}
				w, bias := p.Inputs[1].Const, convBias(p, m)
				per := w.Len() / m
				nw := w // a bias alone leaves the weights as they are
				if b.Op == Mul || b.Op == Div {
					nw = &Tensor{Shape: append([]int(nil), w.Shape...), Data: append([]float64(nil), w.Float64s()...)}
				}
				for j := 0; j < m; j++ {
					switch b.Op {
					case Add:
						bias[j] += vals[j]
					case Sub:
						bias[j] -= vals[j]
					case Mul, Div:
						f := vals[j]
						if b.Op == Div {
							f = 1 / f
						}
						bias[j] *= f
						for k := 0; k < per; k++ {
							nw.Data[j*per+k] *= f
						}
					}
				}
				p.Inputs = []*Value{p.Inputs[0], constValue(p.Name+"/W", nw), constValue(p.Name+"/B", &Tensor{Shape: []int{m}, Data: bias})}
			case Dense:
				m := x.Shape[len(x.Shape)-1]
				if b.Op != Add && b.Op != Sub || c.Const.Len() != m || (len(c.Shape) > 0 && c.Shape[len(c.Shape)-1] != m) || len(c.Shape) > len(x.Shape) {
					continue
				}
				if len(c.Shape) > 1 && prod(c.Shape[:len(c.Shape)-1]) != 1 {
					continue
				}
				bias := make([]float64, m)
				if len(p.Inputs) > 2 {
					copy(bias, p.Inputs[2].Const.Float64s())
				}
				cv := c.Const.Float64s()
				for j := range bias {
					if b.Op == Add {
						bias[j] += cv[j]
					} else {
						bias[j] -= cv[j]
					}
				}
				p.Inputs = []*Value{p.Inputs[0], p.Inputs[1], constValue(p.Name+"/b", &Tensor{Shape: []int{m}, Data: bias})}
			default:
				continue
			}
			g.replace(n.Output, x)
			n.Inputs = nil // now dead; prune removes it
			changed = true
			break
		}
		if changed {
			g.prune()
		}
	}
}

func anyZero(v []float64) bool {
	for _, x := range v {
		if x == 0 {
			return true
		}
	}
	return false
}

// convBias returns a copy of a Conv node's bias, zeros if it has none.
func convBias(p *Node, m int) []float64 {
	b := make([]float64, m)
	if len(p.Inputs) > 2 {
		copy(b, p.Inputs[2].Const.Float64s())
	}
	return b
}

// prune removes nodes whose output does not reach the graph output.
func (g *Graph) prune() {
	live := map[*Node]bool{}
	var mark func(v *Value)
	mark = func(v *Value) {
		if p := v.Producer; p != nil && !live[p] {
			live[p] = true
			for _, in := range p.Inputs {
				mark(in)
			}
		}
	}
	mark(g.Output)
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if live[n] {
			kept = append(kept, n)
		}
	}
	g.Nodes = kept
}

// Validate checks the graph's structure: topological order, one input, every
// dynamic value with exactly one Batch dimension, the output [N×K].
func (g *Graph) Validate() error {
	seen := map[*Value]bool{g.Input: true}
	names := map[string]bool{}
	for _, n := range g.Nodes {
		if names[n.Name] {
			return errorf(ErrInvalid, "two nodes are named %q", n.Name)
		}
		names[n.Name] = true
		for _, v := range n.Inputs {
			if v == nil || (!v.IsConst() && !seen[v]) {
				return errorf(ErrInvalid, "node %q reads a value before it is computed", n.Name)
			}
		}
		if n.Output == nil || n.Output.Producer != n {
			return errorf(ErrInvalid, "node %q has no output", n.Name)
		}
		if n.Output.Shape.BatchAxis() < 0 {
			return errorf(ErrInvalid, "node %q output %v has no batch dimension", n.Name, n.Output.Shape)
		}
		seen[n.Output] = true
	}
	if !seen[g.Output] || g.Output.IsConst() {
		return errorf(ErrInvalid, "the output is not computed from the input")
	}
	if len(g.Output.Shape) != 2 || g.Output.Shape[0] != Batch {
		return errorf(ErrInvalid, "the output %v is not [N×classes]", g.Output.Shape)
	}
	return nil
}

// Preprocessing describes how pixel-space inputs become the tensor the ONNX
// model expects: y = (x·Scale − Mean)/Std per channel, then NCHW→NHWC when
// NHWC is set. The pixel-space input is always N×C×H×W for 4-D models.
type Preprocessing struct {
	Scale     float64   // 1 (or 0) means none
	Mean, Std []float64 // one per channel, or nil
	NHWC      bool
}

// Prepend inserts p in front of the graph: afterwards g.Input is the
// pixel-space input. Gradients flow through it, so epsilon stays in pixel space.
func (g *Graph) Prepend(p Preprocessing) error {
	native := g.Input.Shape
	if (p.NHWC || p.Mean != nil || p.Std != nil) && len(native) != 4 {
		return errorf(ErrUnsupported, "layout and mean/std need a 4-D image input, the model takes %v", native)
	}
	pixel := native.Clone()
	c := 0
	if len(native) == 4 {
		c = native[1]
		if p.NHWC {
			c = native[3]
			pixel = Shape{Batch, native[3], native[1], native[2]}
		}
	}
	for _, list := range [][]float64{p.Mean, p.Std} {
		if list != nil && len(list) != 1 && len(list) != c {
			return errorf(ErrInvalid, "mean/std have %d values for %d channels", len(list), c)
		}
	}
	for _, s := range p.Std {
		if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return errorf(ErrInvalid, "std %v", p.Std)
		}
	}
	in := &Value{Name: "pixels", Shape: pixel}
	cur := in
	var pre []*Node
	apply := func(name string, op Op, out Shape, args ...*Value) {
		n := &Node{Name: name, Op: op, Inputs: append([]*Value{cur}, args...), Source: "contract"}
		n.Output = &Value{Name: name, Shape: out, Producer: n}
		pre = append(pre, n)
		cur = n.Output
	}
	chConst := func(name string, vals []float64) *Value {
		t := &Tensor{Shape: []int{c, 1, 1}, Data: make([]float64, c)}
		for i := range t.Data {
			t.Data[i] = vals[i%len(vals)]
		}
		return constValue(name, t)
	}
	if p.Scale != 0 && p.Scale != 1 {
		apply("contract/scale", Binary{Mul}, pixel, constValue("contract/scale_c", &Tensor{Shape: []int{}, Data: []float64{p.Scale}}))
	}
	if p.Mean != nil {
		apply("contract/mean", Binary{Sub}, pixel, chConst("contract/mean_c", p.Mean))
	}
	if p.Std != nil {
		apply("contract/std", Binary{Div}, pixel, chConst("contract/std_c", p.Std))
	}
	if p.NHWC {
		apply("contract/nhwc", Transpose{Perm: []int{0, 2, 3, 1}}, native)
	}
	old := g.Input
	g.Input = in
	if len(pre) == 0 {
		g.replace(old, in)
		return g.Validate()
	}
	g.replace(old, cur)
	g.Nodes = append(pre, g.Nodes...)
	return g.Validate()
}
