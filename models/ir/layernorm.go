package ir

import (
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models/onnx"
)

// LayerNorm normalises x over its axes Axis… (the last ones) to zero mean and
// unit (biased) variance, then scales and shifts:
// y = (x − μ)/√(σ² + Epsilon)·Scale + Bias. Inputs: x, Scale and Bias,
// constants of the normalised axes' shape x[Axis:].
type LayerNorm struct {
	Axis    int
	Epsilon float64
}

// Kind returns the ONNX name of the op.
func (LayerNorm) Kind() string { return "LayerNormalization" }

func layerNormShape(op LayerNorm, in []Shape) (Shape, error) {
	x := in[0]
	if op.Axis < 1 || op.Axis >= len(x) {
		return nil, errorf(ErrUnsupported, "LayerNormalization axis %d of %v: it must leave the first axis out", op.Axis, x)
	}
	norm := x[op.Axis:]
	if norm.BatchAxis() >= 0 {
		return nil, errorf(ErrUnsupported, "LayerNormalization over the batch axis of %v mixes samples", x)
	}
	if len(in) != 3 || !in[1].Equal(norm) || !in[2].Equal(norm) {
		return nil, errorf(ErrInvalid, "LayerNormalization of %v needs scale and bias of shape %v", x, norm)
	}
	if !(op.Epsilon >= 0) {
		return nil, errorf(ErrInvalid, "LayerNormalization epsilon %v", op.Epsilon)
	}
	return x.Clone(), nil
}

func refLayerNorm(op LayerNorm, in []*Tensor, y *Tensor) {
	x, g, b := in[0], in[1], in[2]
	d := prod(x.Shape[op.Axis:])
	for r := 0; r < len(x.Data)/max(d, 1); r++ {
		row := x.Data[r*d : (r+1)*d]
		mean := 0.0
		for _, v := range row {
			mean += v
		}
		mean /= float64(d)
		vr := 0.0
		for _, v := range row {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(d)
		sd := math.Sqrt(vr + op.Epsilon)
		for j, v := range row {
			y.Data[r*d+j] = (v-mean)/sd*g.Data[j] + b.Data[j]
		}
	}
}

// normConst returns the values of a constant c broadcast over the normalised
// shape norm (the last axes of a rank-rank tensor), or nil when c does not
// broadcast within those axes (it would vary along an outer one).
func normConst(c *Tensor, rank int, norm []int) []float64 {
	s := c.Shape
	if len(s) > rank {
		return nil
	}
	lead := len(s) - len(norm)
	for i := 0; i < lead; i++ {
		if s[i] != 1 {
			return nil
		}
	}
	ns := s
	if lead > 0 {
		ns = s[lead:]
	}
	for i := range ns {
		k := len(norm) - len(ns) + i
		if ns[i] != 1 && ns[i] != norm[k] {
			return nil
		}
	}
	out := make([]float64, prod(norm))
	idx := make([]int, len(norm))
	data := c.Float64s()
	for j := range out {
		unravel(j, norm, idx)
		out[j] = data[broadcastOffset(idx, ns)]
	}
	return out
}

// layerNorm imports LayerNormalization (opset 17): X, Scale and an optional
// B, both constants broadcasting over the normalised axes.
func (im *importer) layerNorm(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 3)
	if err != nil {
		return nil, err
	}
	x := in[0]
	if x.IsConst() {
		return nil, errorf(ErrUnsupported, "LayerNormalization of a constant")
	}
	axis, err := normAxis(int(attrInt(n, "axis", -1)), len(x.Shape))
	if err != nil {
		return nil, err
	}
	if axis == 0 || x.Shape[axis:].BatchAxis() >= 0 {
		return nil, errorf(ErrUnsupported, "LayerNormalization over the batch axis of %v mixes samples", x.Shape)
	}
	norm := []int(x.Shape[axis:].Clone())
	consts := [2]*Value{}
	for i, what := range []string{"scale", "bias"} {
		if err := im.reserve("LayerNormalization "+what, norm); err != nil {
			return nil, err
		}
		t := NewTensor(norm...)
		if i == 0 {
			for j := range t.Data {
				t.Data[j] = 1
			}
		}
		if i+1 < len(in) && in[i+1] != nil {
			v := in[i+1]
			if !v.IsConst() {
				return nil, errorf(ErrUnsupported, "LayerNormalization %s must be a constant", what)
			}
			vals := normConst(v.Const, len(x.Shape), norm)
			if vals == nil {
				return nil, errorf(ErrInvalid, "LayerNormalization %s %v does not broadcast to %v", what, v.Shape, norm)
			}
			t.Data = vals
		}
		consts[i] = constValue(fmt.Sprintf("%s/%s", name, what), t)
	}
	for i, extra := range n.Outputs[1:] {
		if extra != "" {
			im.poison[extra] = fmt.Sprintf("output %d (the saved statistics) of LayerNormalization %q is not supported", i+1, name)
		}
	}
	op := LayerNorm{Axis: axis, Epsilon: attrFloat(n, "epsilon", 1e-5)}
	return im.add(name, n.OpType, op, nil, x, consts[0], consts[1])
}

// fuseLayerNorm recognises the layer norm that exporters without a
// LayerNormalization op emit (PyTorch at opset < 17):
//
//	μ = ReduceMean(x), d = x − μ, σ² = ReduceMean(d²), y = d / √(σ² + ε)
//
// over the same trailing axes, and replaces it with one LayerNorm node; then
// it folds constant scales and shifts that follow any LayerNorm into its
// Scale and Bias.
func (g *Graph) fuseLayerNorm() {
	rd := g.readers()
	changed := false
	for _, div := range g.Nodes {
		if op, ok := layerNormPattern(div, rd); ok {
			x := div.Inputs[0].Producer.Inputs[0]
			norm := []int(x.Shape[op.Axis:])
			scale, bias := NewTensor(norm...), NewTensor(norm...)
			for i := range scale.Data {
				scale.Data[i] = 1
			}
			div.Op = op
			div.Inputs = []*Value{x, constValue(div.Name+"/scale", scale), constValue(div.Name+"/bias", bias)}
			div.Source = "LayerNormalization (fused)"
			changed = true
		}
	}
	if changed {
		g.prune()
		rd = g.readers()
	}
	// Fold y·c, y + c and y − c into the LayerNorm before them.
	cons := g.consumers()
	for _, n := range g.Nodes {
		ln, ok := n.Op.(LayerNorm)
		if !ok {
			continue
		}
		for {
			out := n.Output
			if rd[out] != 1 || len(cons[out]) != 1 {
				break
			}
			next := cons[out][0]
			b, ok := next.Op.(Binary)
			if !ok || b.Op == Div || len(next.Inputs) != 2 {
				break
			}
			c := next.Inputs[1]
			if next.Inputs[0] != out {
				if b.Op == Sub {
					break
				}
				c = next.Inputs[0]
			}
			if !c.IsConst() || next.Inputs[0] == next.Inputs[1] {
				break
			}
			norm := []int(out.Shape[ln.Axis:])
			vals := normConst(c.Const, len(out.Shape), norm)
			if vals == nil {
				break
			}
			scale := append([]float64(nil), n.Inputs[1].Const.Float64s()...)
			bias := append([]float64(nil), n.Inputs[2].Const.Float64s()...)
			for j, v := range vals {
				switch b.Op {
				case Mul:
					scale[j] *= v
					bias[j] *= v
				case Add:
					bias[j] += v
				case Sub:
					bias[j] -= v
				}
			}
			n.Inputs = []*Value{n.Inputs[0],
				constValue(n.Name+"/scale", &Tensor{Shape: append([]int(nil), norm...), Data: scale}),
				constValue(n.Name+"/bias", &Tensor{Shape: append([]int(nil), norm...), Data: bias})}
			// The LayerNorm now computes next's output: readers of next read it.
			g.replace(next.Output, out)
			next.Inputs = nil
			cons = g.consumers()
			rd = g.readers()
		}
	}
	g.prune()
}

// layerNormPattern reports whether div is the last node of an unfused layer
// norm whose intermediate values nothing else reads, and returns its op.
func layerNormPattern(div *Node, readers map[*Value]int) (LayerNorm, bool) {
	var none LayerNorm
	if b, ok := div.Op.(Binary); !ok || b.Op != Div || len(div.Inputs) != 2 {
		return none, false
	}
	d, s := div.Inputs[0], div.Inputs[1]
	sub, sqrt := d.Producer, s.Producer
	if sub == nil || sqrt == nil {
		return none, false
	}
	if b, ok := sub.Op.(Binary); !ok || b.Op != Sub {
		return none, false
	}
	if u, ok := sqrt.Op.(Unary); !ok || u.Func != Sqrt {
		return none, false
	}
	x, mu := sub.Inputs[0], sub.Inputs[1]
	axis, ok := meanOver(mu, x)
	if !ok || x.IsConst() {
		return none, false
	}
	add := sqrt.Inputs[0].Producer
	if add == nil {
		return none, false
	}
	if b, ok := add.Op.(Binary); !ok || b.Op != Add {
		return none, false
	}
	vr, eps := add.Inputs[0], add.Inputs[1]
	if vr.IsConst() {
		vr, eps = eps, vr
	}
	if !eps.IsConst() || len(eps.Const.Data) != 1 || len(eps.Shape) > len(x.Shape) || !(eps.Const.Data[0] >= 0) {
		return none, false
	}
	red := vr.Producer
	if red == nil || len(red.Inputs) != 1 {
		return none, false
	}
	sq := red.Inputs[0].Producer
	if sq == nil || len(sq.Inputs) != 1 || sq.Inputs[0] != d {
		return none, false
	}
	if u, ok := sq.Op.(Unary); !ok || u.Func != Pow || u.Alpha != 2 {
		return none, false
	}
	if a, ok := meanOver(vr, sq.Output); !ok || a != axis {
		return none, false
	}
	// Nothing outside the pattern may read its intermediate values.
	if readers[mu] != 1 || readers[d] != 2 || readers[sq.Output] != 1 || readers[vr] != 1 ||
		readers[add.Output] != 1 || readers[s] != 1 {
		return none, false
	}
	if x.Shape[axis:].BatchAxis() >= 0 {
		return none, false
	}
	return LayerNorm{Axis: axis, Epsilon: eps.Const.Data[0]}, true
}

// meanOver reports whether v = ReduceMean(x) over trailing axes a… with
// dimensions kept, and returns a.
func meanOver(v, x *Value) (int, bool) {
	p := v.Producer
	if p == nil || len(p.Inputs) != 1 || p.Inputs[0] != x {
		return 0, false
	}
	r, ok := p.Op.(Reduce)
	if !ok || !r.Mean || !r.KeepDims || len(r.Axes) == 0 {
		return 0, false
	}
	rank := len(x.Shape)
	a := r.Axes[0]
	for i, ax := range r.Axes {
		if ax != a+i {
			return 0, false
		}
	}
	if r.Axes[len(r.Axes)-1] != rank-1 || a < 1 {
		return 0, false
	}
	return a, true
}
