package engine

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fwdOp is a Gorgonia Op that stands for a layer's forward pass in the graph
// that Gorgonia differentiates; the program runs the layer itself, on the
// buffers it planned (see plan.go). Its hash covers the node's unique name,
// so Gorgonia never merges two of them.
type fwdOp[T Float] struct {
	l     layer[T]
	name  string // unique within the program
	desc  string // the op and its attributes
	ranks []int  // ranks of the dynamic inputs
	shape tensor.Shape
}

func dtypeOf[T Float]() tensor.Dtype {
	var z T
	if _, ok := any(z).(float32); ok {
		return tensor.Float32
	}
	return tensor.Float64
}

func newFwdOp[T Float](l layer[T], name, desc string, ranks []int, outShape []int) *fwdOp[T] {
	return &fwdOp[T]{l: l, name: name, desc: desc, ranks: ranks, shape: tensor.Shape(outShape).Clone()}
}

func fnType(dt tensor.Dtype, ranks []int, out int) hm.Type {
	ts := make([]hm.Type, 0, len(ranks)+1)
	for _, r := range ranks {
		ts = append(ts, gorgonia.TensorType{Dims: r, Of: dt})
	}
	ts = append(ts, gorgonia.TensorType{Dims: out, Of: dt})
	return hm.NewFnType(ts...)
}

func (o *fwdOp[T]) Arity() int    { return len(o.ranks) }
func (o *fwdOp[T]) Type() hm.Type { return fnType(dtypeOf[T](), o.ranks, o.shape.Dims()) }
func (o *fwdOp[T]) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return o.shape.Clone(), nil
}
func (o *fwdOp[T]) ReturnsPtr() bool     { return false }
func (o *fwdOp[T]) CallsExtern() bool    { return false }
func (o *fwdOp[T]) OverwritesInput() int { return -1 }
func (o *fwdOp[T]) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "advcheck.fwd(%s)%s%v", o.name, o.desc, o.shape)
}
func (o *fwdOp[T]) Hashcode() uint32 { return hashOf(o) }
func (o *fwdOp[T]) String() string   { return o.name }

func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// errNotRun: a program runs its layers on its own tape, never through
// Gorgonia's machines.
var errNotRun = errors.New("engine: the program's ops run only on its own tape")

func (o *fwdOp[T]) Do(...gorgonia.Value) (gorgonia.Value, error) { return nil, errNotRun }

// DiffWRT: every dynamic input is differentiable (constants are not inputs).
func (o *fwdOp[T]) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns, for each dynamic input, a node computing the gradient with
// respect to it from the inputs, the output and the output's gradient.
func (o *fwdOp[T]) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	args := append(append(gorgonia.Nodes{}, inputs...), output, grad)
	ret := make(gorgonia.Nodes, len(inputs))
	for i, in := range inputs {
		op := newGradOp(o, i, in.Shape())
		n, err := gorgonia.ApplyOp(op, args...)
		if err != nil {
			return nil, fmt.Errorf("engine: gradient of %s: %w", o.name, err)
		}
		if n.Op() != gorgonia.Op(op) {
			return nil, fmt.Errorf("engine: gradient node of %s was merged with another node", o.name)
		}
		ret[i] = n
	}
	return ret, nil
}

// gradOp computes the gradient of a fwdOp's output with respect to input
// `which`. Its inputs are the forward inputs, the forward output and the
// output's gradient.
type gradOp[T Float] struct {
	fwd   *fwdOp[T]
	which int
	shape tensor.Shape
}

func newGradOp[T Float](fwd *fwdOp[T], which int, shape tensor.Shape) *gradOp[T] {
	return &gradOp[T]{fwd: fwd, which: which, shape: shape.Clone()}
}

func (o *gradOp[T]) Arity() int { return len(o.fwd.ranks) + 2 }
func (o *gradOp[T]) Type() hm.Type {
	r := append(append([]int{}, o.fwd.ranks...), o.fwd.shape.Dims(), o.fwd.shape.Dims())
	return fnType(dtypeOf[T](), r, o.shape.Dims())
}
func (o *gradOp[T]) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return o.shape.Clone(), nil
}
func (o *gradOp[T]) ReturnsPtr() bool     { return false }
func (o *gradOp[T]) CallsExtern() bool    { return false }
func (o *gradOp[T]) OverwritesInput() int { return -1 }
func (o *gradOp[T]) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "advcheck.grad(%s)[%d]%s", o.fwd.name, o.which, o.fwd.desc)
}
func (o *gradOp[T]) Hashcode() uint32 { return hashOf(o) }
func (o *gradOp[T]) String() string   { return fmt.Sprintf("∂%s/∂in%d", o.fwd.name, o.which) }

func (o *gradOp[T]) Do(...gorgonia.Value) (gorgonia.Value, error) { return nil, errNotRun }
