package engine

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fwdOp is a Gorgonia Op that runs a layer's forward pass. It owns its output
// buffer, which it allocates once: steady-state runs allocate nothing. Its
// hash covers the node's unique name, so Gorgonia never merges two of them.
type fwdOp[T Float] struct {
	l     layer[T]
	name  string // unique within the program
	desc  string // the op and its attributes
	ranks []int  // ranks of the dynamic inputs
	out   *tensor.Dense
	ins   [][]T // reused slice of input buffers
}

func dtypeOf[T Float]() tensor.Dtype {
	var z T
	if _, ok := any(z).(float32); ok {
		return tensor.Float32
	}
	return tensor.Float64
}

func newFwdOp[T Float](l layer[T], name, desc string, ranks []int, outShape []int) *fwdOp[T] {
	return &fwdOp[T]{l: l, name: name, desc: desc, ranks: ranks,
		out: tensor.New(tensor.WithShape(outShape...), tensor.WithBacking(make([]T, prodInts(outShape)))),
		ins: make([][]T, len(ranks))}
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
func (o *fwdOp[T]) Type() hm.Type { return fnType(dtypeOf[T](), o.ranks, o.out.Dims()) }
func (o *fwdOp[T]) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return o.out.Shape().Clone(), nil
}
func (o *fwdOp[T]) ReturnsPtr() bool     { return false }
func (o *fwdOp[T]) CallsExtern() bool    { return false }
func (o *fwdOp[T]) OverwritesInput() int { return -1 }
func (o *fwdOp[T]) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "advcheck.fwd(%s)%s%v", o.name, o.desc, o.out.Shape())
}
func (o *fwdOp[T]) Hashcode() uint32 { return hashOf(o) }
func (o *fwdOp[T]) String() string   { return o.name }

func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// data returns the buffer of a Value the engine created.
func data[T Float](v gorgonia.Value) ([]T, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("engine: unexpected value %T", v)
	}
	b, ok := d.Data().([]T)
	if !ok {
		return nil, fmt.Errorf("engine: unexpected element type %v", d.Dtype())
	}
	return b, nil
}

func (o *fwdOp[T]) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != len(o.ranks) {
		return nil, fmt.Errorf("engine: %s got %d inputs, want %d", o.name, len(vals), len(o.ranks))
	}
	for i, v := range vals {
		b, err := data[T](v)
		if err != nil {
			return nil, err
		}
		o.ins[i] = b
	}
	o.l.forward(o.out.Data().([]T), o.ins)
	return o.out, nil
}

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
	out   *tensor.Dense
	ins   [][]T
}

func newGradOp[T Float](fwd *fwdOp[T], which int, shape tensor.Shape) *gradOp[T] {
	return &gradOp[T]{fwd: fwd, which: which,
		out: tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(make([]T, shape.TotalSize()))),
		ins: make([][]T, len(fwd.ranks))}
}

func (o *gradOp[T]) Arity() int { return len(o.fwd.ranks) + 2 }
func (o *gradOp[T]) Type() hm.Type {
	r := append(append([]int{}, o.fwd.ranks...), o.fwd.out.Dims(), o.fwd.out.Dims())
	return fnType(dtypeOf[T](), r, o.out.Dims())
}
func (o *gradOp[T]) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return o.out.Shape().Clone(), nil
}
func (o *gradOp[T]) ReturnsPtr() bool     { return false }
func (o *gradOp[T]) CallsExtern() bool    { return false }
func (o *gradOp[T]) OverwritesInput() int { return -1 }
func (o *gradOp[T]) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "advcheck.grad(%s)[%d]%s", o.fwd.name, o.which, o.fwd.desc)
}
func (o *gradOp[T]) Hashcode() uint32 { return hashOf(o) }
func (o *gradOp[T]) String() string   { return fmt.Sprintf("∂%s/∂in%d", o.fwd.name, o.which) }

func (o *gradOp[T]) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	k := len(o.fwd.ranks)
	if len(vals) != k+2 {
		return nil, fmt.Errorf("engine: %s got %d inputs, want %d", o, len(vals), k+2)
	}
	for i := 0; i < k; i++ {
		b, err := data[T](vals[i])
		if err != nil {
			return nil, err
		}
		o.ins[i] = b
	}
	y, err := data[T](vals[k])
	if err != nil {
		return nil, err
	}
	dy, err := data[T](vals[k+1])
	if err != nil {
		return nil, err
	}
	o.fwd.l.backward(o.which, o.out.Data().([]T), dy, o.ins, y)
	return o.out, nil
}
