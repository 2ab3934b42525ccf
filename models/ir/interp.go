package ir

import "fmt"

// Eval runs the graph on x, a batch of n inputs in the shape of g.Input with
// the batch filled in, and returns the output [n×Classes]. It is the float64
// reference: slow, direct, and the oracle for every faster engine.
func (g *Graph) Eval(x *Tensor) (*Tensor, error) {
	vals, err := g.EvalAll(x)
	if err != nil {
		return nil, err
	}
	return vals[g.Output], nil
}

// EvalAll is Eval returning the value of every node output.
func (g *Graph) EvalAll(x *Tensor) (map[*Value]*Tensor, error) {
	ax := g.Input.Shape.BatchAxis()
	if len(x.Shape) != len(g.Input.Shape) || ax < 0 || x.Shape[ax] < 1 {
		return nil, fmt.Errorf("ir: input shape %v does not match %v", x.Shape, g.Input.Shape)
	}
	n := x.Shape[ax]
	want := g.Input.Shape.Concrete(n)
	for i := range want {
		if want[i] != x.Shape[i] {
			return nil, fmt.Errorf("ir: input shape %v does not match %v", x.Shape, g.Input.Shape)
		}
	}
	vals := map[*Value]*Tensor{g.Input: x}
	for _, node := range g.Nodes {
		in := make([]*Tensor, len(node.Inputs))
		for i, v := range node.Inputs {
			if v.IsConst() {
				in[i] = v.Const
			} else {
				in[i] = vals[v]
			}
		}
		y, err := evalOp(node.Op, in, node.Output.Shape.Concrete(n))
		if err != nil {
			return nil, fmt.Errorf("ir: node %q: %w", node.Name, err)
		}
		vals[node.Output] = y
	}
	return vals, nil
}

// EvalOp applies one op to concrete inputs (constants as they are, dynamic
// inputs with the batch filled in) and returns its output, of shape out: the
// reference implementation of a single node, for other interpretations of
// the graph such as bound propagation.
func EvalOp(op Op, in []*Tensor, out []int) (*Tensor, error) { return evalOp(op, in, out) }
