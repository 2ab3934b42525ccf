package engine

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/advcheck/advcheck/models/internal/kernels"
)

// A program runs its graph as a tape: the graph's nodes in the order
// Gorgonia's TapeMachine would run them (the reverse of gorgonia.Sort), each
// step reading the buffers of its inputs and writing its own. The buffers
// are planned from the tape: a value's buffer is free again after its last
// reader has run, and a later value of at most its size reuses it. A
// forward program thus holds a few layers' activations at a time; a
// gradient program holds every activation its backward steps read, while
// the gradients, which live from one backward step to the next, share a
// handful of buffers.

// backwardReader is implemented by layers whose backward pass reads less
// than its inputs and output: backwardReads says whether it reads the
// (dynamic) inputs and the output. Layers without it are taken to read both.
type backwardReader interface {
	backwardReads() (ins, out bool)
}

// step is one instruction of the tape.
type step[T Float] struct {
	exec func(out []T, ins [][]T)
	args []int // value ids read; -1 for an input the step is given as nil
	out  int   // value id written
	ins  [][]T // reused slice of the input buffers
	name string
	// fwdValue: the step computes a forward value (an activation), not a
	// gradient.
	fwdValue bool
}

// plan is the tape and its buffer assignment for one program.
type plan[T Float] struct {
	steps []step[T]
	vals  [][]T  // buffer of each value id
	sizes []int  // elements of each value id
	slab  []int  // slab of each planned value id, -1 for fixed buffers
	caps  []int  // elements of each slab
	act   []bool // whether a slab ever holds an activation (else only gradients)
	slabs [][]T  // the slabs, once allocated
	ids   valueIDs
}

// valueIDs gives every node that carries a value an id.
type valueIDs map[*gorgonia.Node]int

// makePlan orders the graph's nodes as a TapeMachine would, turns them into
// steps and assigns every computed value a slab. fixed maps nodes whose
// buffers the program owns (the input, the constant that seeds the
// backward pass) to those buffers; keep lists nodes read after the tape
// ends (the logits of a forward program, the input gradient).
func makePlan[T Float](eg *gorgonia.ExprGraph, fixed map[*gorgonia.Node][]T, keep []*gorgonia.Node) (*plan[T], error) {
	sorted, err := gorgonia.Sort(eg)
	if err != nil {
		return nil, fmt.Errorf("engine: ordering the graph: %w", err)
	}
	for i, j := 0, len(sorted)-1; i < j; i, j = i+1, j-1 {
		sorted[i], sorted[j] = sorted[j], sorted[i]
	}
	p := &plan[T]{ids: valueIDs{}}
	ids := p.ids
	id := func(n *gorgonia.Node) int {
		if v, ok := ids[n]; ok {
			return v
		}
		v := len(p.sizes)
		ids[n] = v
		p.sizes = append(p.sizes, n.Shape().TotalSize())
		p.vals = append(p.vals, nil)
		p.slab = append(p.slab, -1)
		return v
	}
	for n, buf := range fixed {
		p.vals[id(n)] = buf
	}
	for _, n := range sorted {
		if _, ok := fixed[n]; ok {
			continue
		}
		if c, ok := n.Op().(interface{ Value() gorgonia.Value }); ok {
			// A constant (the seed of the backward pass).
			d, ok := c.Value().(*tensor.Dense)
			if !ok {
				return nil, fmt.Errorf("engine: constant %v has no value", n)
			}
			b, ok := d.Data().([]T)
			if !ok {
				return nil, fmt.Errorf("engine: constant %v has elements %v", n, d.Dtype())
			}
			p.vals[id(n)] = b
			continue
		}
		var s step[T]
		var args gorgonia.Nodes
		sum := false
		switch op := n.Op().(type) {
		case *fwdOp[T]:
			l := op.l
			s.exec = func(out []T, ins [][]T) { l.forward(out, ins) }
			s.name = op.name
		case *gradOp[T]:
			l, which, k := op.fwd.l, op.which, len(op.fwd.ranks)
			s.exec = func(out []T, ins [][]T) { l.backward(which, out, ins[k+1], ins[:k], ins[k]) }
			s.name = op.String()
		default:
			// The sums Gorgonia's Backpropagate inserts for a value read by
			// several nodes (ReduceAdd). Nothing else is expected.
			if op == nil || op.String() != "+ false" || op.Arity() != 2 {
				return nil, fmt.Errorf("engine: unexpected node %v (op %v) in the graph", n, op)
			}
			s.exec = addInto[T]
			s.name = n.Name()
			sum = true
		}
		// A node's children, in argument order.
		it := eg.From(n.ID())
		for it.Next() {
			args = append(args, it.Node().(*gorgonia.Node))
		}
		if len(args) != n.Op().Arity() {
			return nil, fmt.Errorf("engine: %s has %d inputs, want %d", s.name, len(args), n.Op().Arity())
		}
		if sum { // operands of the result's size
			if args[0].Shape().TotalSize() != n.Shape().TotalSize() || args[1].Shape().TotalSize() != n.Shape().TotalSize() {
				return nil, fmt.Errorf("engine: unexpected sum %v in the graph", n)
			}
		}
		// A gradient step is handed its layer's inputs and output, but
		// most backward kernels read neither; those it does not read are
		// passed as nil, so that they need not outlive the forward pass.
		readIns, readOut := true, true
		if op, ok := n.Op().(*gradOp[T]); ok {
			if r, ok := op.fwd.l.(backwardReader); ok {
				readIns, readOut = r.backwardReads()
			}
		}
		for j, a := range args {
			if _, ok := ids[a]; !ok {
				return nil, fmt.Errorf("engine: %s reads %v before it is computed", s.name, a)
			}
			if g, ok := n.Op().(*gradOp[T]); ok && ((j < len(g.fwd.ranks) && !readIns) || (j == len(g.fwd.ranks) && !readOut)) {
				s.args = append(s.args, -1)
				continue
			}
			s.args = append(s.args, ids[a])
		}
		s.out = id(n)
		_, s.fwdValue = n.Op().(*fwdOp[T])
		s.ins = make([][]T, len(s.args))
		p.steps = append(p.steps, s)
	}
	last := make([]int, len(p.sizes))
	for i := range last {
		last[i] = -1
	}
	for i, s := range p.steps {
		for _, a := range s.args {
			if a >= 0 {
				last[a] = i
			}
		}
	}
	for _, n := range keep {
		v, ok := ids[n]
		if !ok {
			return nil, fmt.Errorf("engine: %v is not in the graph", n)
		}
		last[v] = len(p.steps)
	}
	// Best fit: the smallest free slab that holds the value, else the
	// largest free slab, grown (slabs are sized before any is allocated),
	// else a new slab. A step's output is placed before its dying inputs
	// are freed, so no step writes a buffer it reads.
	var free []int
	for i, s := range p.steps {
		size, best := p.sizes[s.out], -1
		for j, sl := range free {
			if p.caps[sl] >= size && (best < 0 || p.caps[sl] < p.caps[free[best]]) {
				best = j
			}
		}
		if best < 0 {
			for j, sl := range free {
				if best < 0 || p.caps[sl] > p.caps[free[best]] {
					best = j
				}
			}
			if best >= 0 {
				p.caps[free[best]] = size
			}
		}
		if best >= 0 {
			p.slab[s.out] = free[best]
			free = append(free[:best], free[best+1:]...)
		} else {
			p.slab[s.out] = len(p.caps)
			p.caps = append(p.caps, size)
			p.act = append(p.act, false)
		}
		if s.fwdValue {
			p.act[p.slab[s.out]] = true
		}
		release := func(v int) {
			if v >= 0 && p.slab[v] >= 0 && last[v] <= i {
				free = append(free, p.slab[v])
				last[v] = len(p.steps) + 1 // freed once
			}
		}
		for _, a := range s.args {
			release(a)
		}
		release(s.out) // a value nothing reads
	}
	return p, nil
}

// allocate makes the slabs and points every planned value at its slab.
func (p *plan[T]) allocate() {
	p.slabs = make([][]T, len(p.caps))
	for i, c := range p.caps {
		p.slabs[i] = make([]T, c)
	}
	for v, sl := range p.slab {
		if sl >= 0 {
			p.vals[v] = p.slabs[sl][:p.sizes[v]]
		}
	}
}

// memory returns the slabs' bytes: those that ever hold an activation as
// activations, the others as gradients.
func (p *plan[T]) memory() Memory {
	var m Memory
	for i, c := range p.caps {
		if p.act[i] {
			m.Activations += int64(c) * sizeOf[T]()
		} else {
			m.Gradients += int64(c) * sizeOf[T]()
		}
	}
	return m
}

// run executes the tape.
func (p *plan[T]) run() {
	for i := range p.steps {
		s := &p.steps[i]
		for j, a := range s.args {
			if a < 0 {
				s.ins[j] = nil
				continue
			}
			s.ins[j] = p.vals[a]
		}
		s.exec(p.vals[s.out], s.ins)
	}
}

// value returns the buffer of node n.
func (p *plan[T]) value(n *gorgonia.Node) []T { return p.vals[p.ids[n]] }

// addInto writes ins[0] + ins[1] into out.
func addInto[T Float](out []T, ins [][]T) {
	a, b := ins[0], ins[1]
	chunked(len(out), func(lo, hi int) {
		o, x, y := out[lo:hi], a[lo:hi], b[lo:hi]
		for i := range o {
			o[i] = x[i] + y[i]
		}
	})
}

func (l *convLayer[T]) backwardReads() (bool, bool)    { return false, l.relu }
func (l *denseLayer[T]) backwardReads() (bool, bool)   { return false, l.relu }
func (l *maxPoolLayer[T]) backwardReads() (bool, bool) { return false, false }
func (l *avgPoolLayer[T]) backwardReads() (bool, bool) { return false, false }
func (copyLayer[T]) backwardReads() (bool, bool)       { return false, false }
func (l *transposeLayer[T]) backwardReads() (bool, bool) {
	return false, false
}
func (l *padLayer[T]) backwardReads() (bool, bool)     { return false, false }
func (l *concatLayer[T]) backwardReads() (bool, bool)  { return false, false }
func (l *sliceLayer[T]) backwardReads() (bool, bool)   { return false, false }
func (l *reduceLayer[T]) backwardReads() (bool, bool)  { return false, false }
func (l *lossLayer[T]) backwardReads() (bool, bool)    { return false, false }
func (l *softmaxLayer[T]) backwardReads() (bool, bool) { return false, true }
func (l *matmulLayer[T]) backwardReads() (bool, bool)  { return true, false }
func (l *layerNormLayer[T]) backwardReads() (bool, bool) {
	return true, false
}

// A sum or difference's gradient needs no operand; a product's needs the
// other operand, a quotient's the divisor (and the dividend for the
// divisor's gradient): dynamic inputs are read only when such an operand is
// one of them.
func (l *binaryLayer[T]) backwardReads() (bool, bool) {
	both := l.dynIndex[0] >= 0 && l.dynIndex[1] >= 0
	switch l.op {
	case kernels.Add, kernels.Sub:
		return false, false
	case kernels.Mul:
		return both, false
	}
	return true, false
}
