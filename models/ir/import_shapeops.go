package ir

import (
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models/onnx"
)

// Ops that exporters emit in shape computations and constant masks: Equal,
// Not, Mod, Where and ScatterND are folded when their inputs are constants
// (Where also runs on activations with a constant condition), and Gather and
// Expand run on activations too. Shape computations may carry the symbolic
// batch size (Tensor.Sym); an op folds it only where the result does not
// depend on its value (the batch size is at least 1), and refuses otherwise.

// foldBroadcast evaluates f elementwise over constants broadcast together,
// reserving the output first. f returns the value and whether it carries the
// batch size; sym reports for each operand whether the element read is the
// batch size.
func (im *importer) foldBroadcast(what string, in []*Tensor, f func(v []float64, sym []bool) (float64, bool, error)) (*Tensor, error) {
	shape := []int{}
	for _, t := range in {
		s, err := broadcastShape(shape, t.Shape)
		if err != nil {
			return nil, errorf(ErrInvalid, "%s of %v", what, shapesOf(in))
		}
		shape = s
	}
	if err := im.reserve(what+" output", shape); err != nil {
		return nil, err
	}
	y := NewTensor(shape...)
	idx := make([]int, len(shape))
	v, sym := make([]float64, len(in)), make([]bool, len(in))
	for i := range y.Data {
		unravel(i, shape, idx)
		for k, t := range in {
			off := broadcastOffset(idx, t.Shape)
			v[k], sym[k] = t.Data[off], t.Sym != nil && t.Sym[off]
		}
		r, s, err := f(v, sym)
		if err != nil {
			return nil, err
		}
		y.Data[i] = r
		if s {
			if y.Sym == nil {
				y.Sym = make([]bool, len(y.Data))
			}
			y.Sym[i] = true
		}
	}
	return y, nil
}

func shapesOf(ts []*Tensor) []Shape {
	out := make([]Shape, len(ts))
	for i, t := range ts {
		out[i] = Shape(t.Shape)
	}
	return out
}

// constInputs returns the constant data of every input, or an error naming
// the op when one is an activation.
func constInputs(op string, in []*Value) ([]*Tensor, error) {
	ts := make([]*Tensor, len(in))
	for i, v := range in {
		if v == nil {
			return nil, errorf(ErrInvalid, "%s input %d is required", op, i)
		}
		if !v.IsConst() {
			return nil, errorf(ErrUnsupported, "%s of the model's activations (advcheck folds it on constants only)", op)
		}
		ts[i] = v.Const
	}
	return ts, nil
}

func (im *importer) equal(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	ts, err := constInputs("Equal", in)
	if err != nil {
		return nil, err
	}
	y, err := im.foldBroadcast("Equal", ts, func(v []float64, sym []bool) (float64, bool, error) {
		switch {
		case sym[0] && sym[1]:
			if v[0] == v[1] { // k·N = j·N exactly when k = j
				return 1, false, nil
			}
			return 0, false, nil
		case sym[0] || sym[1]:
			// The batch size is at least 1: it equals no smaller value.
			other := v[0]
			if sym[0] {
				other = v[1]
			}
			if other < 1 {
				return 0, false, nil
			}
			return 0, false, errorf(ErrUnsupported, "%s %q compares the batch size with %v: the result would depend on its value", "Equal", name, other)
		case v[0] == v[1]:
			return 1, false, nil
		}
		return 0, false, nil
	})
	if err != nil {
		return nil, err
	}
	y.Int = true
	return constValue(n.Outputs[0], y), nil
}

func (im *importer) not(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	ts, err := constInputs("Not", in)
	if err != nil {
		return nil, err
	}
	y, err := im.foldBroadcast("Not", ts, func(v []float64, sym []bool) (float64, bool, error) {
		if sym[0] {
			return 0, false, nil // the batch size is non-zero
		}
		if v[0] == 0 {
			return 1, false, nil
		}
		return 0, false, nil
	})
	if err != nil {
		return nil, err
	}
	y.Int = true
	return constValue(n.Outputs[0], y), nil
}

func (im *importer) mod(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	ts, err := constInputs("Mod", in)
	if err != nil {
		return nil, err
	}
	fmod := attrInt(n, "fmod", 0) != 0
	if !fmod && !(ts[0].Int && ts[1].Int) {
		return nil, errorf(ErrInvalid, "Mod of floats needs fmod=1")
	}
	y, err := im.foldBroadcast("Mod", ts, func(v []float64, sym []bool) (float64, bool, error) {
		if sym[0] || sym[1] {
			return 0, false, errorf(ErrUnsupported, "%s %q of the batch size: the result would depend on its value", "Mod", name)
		}
		a, b := v[0], v[1]
		if b == 0 {
			if ts[0].Int {
				return 0, false, errorf(ErrInvalid, "Mod %q by zero", name)
			}
			return math.NaN(), false, nil
		}
		r := math.Mod(a, b) // the sign of the dividend, as C's fmod
		if !fmod && r != 0 && (r < 0) != (b < 0) {
			r += b // integer Mod takes the sign of the divisor, as Python's %
		}
		return r, false, nil
	})
	if err != nil {
		return nil, err
	}
	y.Int = ts[0].Int && ts[1].Int
	return constValue(n.Outputs[0], y), nil
}

// where folds Where on constants; on activations with a constant condition
// it selects with masks: y = a·m + b·(1 − m), exact for finite values.
func (im *importer) where(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 3, 3)
	if err != nil {
		return nil, err
	}
	cond, a, b := in[0], in[1], in[2]
	if !cond.IsConst() {
		return nil, errorf(ErrUnsupported, "Where with a condition computed from the model's activations")
	}
	if cond.Const.HasSym() {
		return nil, errorf(ErrUnsupported, "Where with a condition on the batch size")
	}
	if a.IsConst() && b.IsConst() {
		y, err := im.foldBroadcast("Where", []*Tensor{cond.Const, a.Const, b.Const}, func(v []float64, sym []bool) (float64, bool, error) {
			if v[0] != 0 {
				return v[1], sym[1], nil
			}
			return v[2], sym[2], nil
		})
		if err != nil {
			return nil, err
		}
		y.Int = a.Const.Int && b.Const.Int
		return constValue(n.Outputs[0], y), nil
	}
	for _, v := range []*Value{a, b} {
		if v.IsConst() && v.Const.HasSym() {
			return nil, errorf(ErrUnsupported, "Where of the batch size and the model's activations")
		}
		if v.IsConst() {
			for _, x := range v.Const.Data {
				if math.IsInf(x, 0) || math.IsNaN(x) {
					return nil, errorf(ErrUnsupported, "Where on activations with the constant %v", x)
				}
			}
		}
	}
	for range 2 { // the mask and its complement
		if err := im.reserve("Where mask", cond.Const.Shape); err != nil {
			return nil, err
		}
	}
	m, inv := NewTensor(cond.Const.Shape...), NewTensor(cond.Const.Shape...)
	for i, c := range cond.Const.Data {
		if c != 0 {
			m.Data[i] = 1
		} else {
			inv.Data[i] = 1
		}
	}
	pa, err := im.add(name+"/then", "Where", Binary{Mul}, nil, a, constValue(name+"/mask", m))
	if err != nil {
		return nil, err
	}
	pb, err := im.add(name+"/else", "Where", Binary{Mul}, nil, b, constValue(name+"/not_mask", inv))
	if err != nil {
		return nil, err
	}
	return im.add(name, "Where", Binary{Add}, nil, pa, pb)
}

func (im *importer) scatterND(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 3, 3)
	if err != nil {
		return nil, err
	}
	ts, err := constInputs("ScatterND", in)
	if err != nil {
		return nil, err
	}
	data, indices, updates := ts[0], ts[1], ts[2]
	for _, t := range ts {
		if t.HasSym() {
			return nil, errorf(ErrUnsupported, "ScatterND of the batch size")
		}
	}
	red := attrString(n, "reduction", "none")
	if red != "none" && red != "add" && red != "mul" {
		return nil, errorf(ErrUnsupported, "ScatterND reduction %q", red)
	}
	is := indices.Shape
	if len(is) == 0 {
		return nil, errorf(ErrInvalid, "ScatterND indices must have rank ≥ 1")
	}
	k := is[len(is)-1]
	if k > len(data.Shape) {
		return nil, errorf(ErrInvalid, "ScatterND index length %d for data of rank %d", k, len(data.Shape))
	}
	want := append(append([]int(nil), is[:len(is)-1]...), data.Shape[k:]...)
	if !Shape(updates.Shape).Equal(Shape(want)) {
		return nil, errorf(ErrInvalid, "ScatterND updates %v, want %v", updates.Shape, want)
	}
	if err := im.reserve("ScatterND output", data.Shape); err != nil {
		return nil, err
	}
	y := &Tensor{Shape: append([]int(nil), data.Shape...), Data: append([]float64(nil), data.Data...), Int: data.Int}
	slice := prod(data.Shape[k:])
	st := strides(data.Shape)
	for j := 0; j < prod(is[:len(is)-1]); j++ {
		off := 0
		for d := 0; d < k; d++ {
			ix := indices.Data[j*k+d]
			dim := float64(data.Shape[d])
			if ix < 0 {
				ix += dim
			}
			if ix < 0 || ix >= dim || ix != math.Trunc(ix) {
				return nil, errorf(ErrInvalid, "ScatterND index %v out of range %v", indices.Data[j*k+d], data.Shape[d])
			}
			off += int(ix) * st[d]
		}
		for e := 0; e < slice; e++ {
			u := updates.Data[j*slice+e]
			switch red {
			case "none":
				y.Data[off+e] = u
			case "add":
				y.Data[off+e] += u
			case "mul":
				y.Data[off+e] *= u
			}
		}
	}
	return constValue(n.Outputs[0], y), nil
}

// gatherActivations takes constant indices along a non-batch axis of an
// activation: one Slice per index, joined by a Concat and reshaped to the
// output shape (x[:axis] + indices' shape + x[axis+1:]). A class token taken
// with x[:, 0] is one Slice and a Reshape.
func (im *importer) gatherActivations(x *Value, idx *Value, axis int, name string) (*Value, error) {
	if x.Shape[axis] == Batch {
		return nil, errorf(ErrUnsupported, "Gather along the batch axis mixes samples")
	}
	if idx.Const.HasSym() {
		return nil, errorf(ErrUnsupported, "Gather with indices computed from the batch size")
	}
	indices, err := constInts(idx, "Gather indices")
	if err != nil {
		return nil, err
	}
	const maxIndices = 1024
	if len(indices) == 0 || len(indices) > maxIndices {
		return nil, errorf(ErrUnsupported, "Gather of %d indices on activations (1 to %d)", len(indices), maxIndices)
	}
	size := x.Shape[axis]
	parts := make([]*Value, len(indices))
	for j, k := range indices {
		if k < 0 {
			k += size
		}
		if k < 0 || k >= size {
			return nil, errorf(ErrInvalid, "Gather index %d out of range %d", indices[j], size)
		}
		op := Slice{Starts: make([]int, len(x.Shape)), Ends: x.Shape.Clone(), Steps: make([]int, len(x.Shape))}
		for d := range op.Steps {
			op.Steps[d] = 1
		}
		op.Starts[axis], op.Ends[axis] = k, k+1
		label := name
		if len(indices) > 1 {
			label = fmt.Sprintf("%s/%d", name, j)
		}
		if parts[j], err = im.add(label, "Gather", op, nil, x); err != nil {
			return nil, err
		}
	}
	y := parts[0]
	if len(parts) > 1 {
		if y, err = im.add(name+"/concat", "Gather", Concat{Axis: axis}, nil, parts...); err != nil {
			return nil, err
		}
	}
	out := append(append(x.Shape[:axis:axis], Shape(idx.Shape)...), x.Shape[axis+1:]...)
	return im.reshapeTo(name+"/reshape", "Gather", y, out)
}

// expandActivations broadcasts an activation to a constant shape as
// x + 0 (exact, with the broadcast's gradient). A batch-sized entry of the
// shape keeps the batch.
func (im *importer) expandActivations(x *Value, dims []int, name string) (*Value, error) {
	zs := make([]int, len(dims))
	for i, d := range dims {
		zs[i] = d
		if d == symDim {
			zs[i] = 1
		}
	}
	if ax := x.Shape.BatchAxis() - len(x.Shape) + len(zs); ax >= 0 && zs[ax] != 1 {
		return nil, errorf(ErrUnsupported, "Expand of %v to %v would fix the batch size", x.Shape, dims)
	}
	if _, err := broadcastSym(x.Shape, Shape(zs)); err != nil {
		return nil, err
	}
	if err := im.reserve("Expand zeros", zs); err != nil {
		return nil, err
	}
	return im.add(name, "Expand", Binary{Add}, nil, x, constValue(name+"/zeros", NewTensor(zs...)))
}

// batchBroadcastReaders are the ops that may read a constant expanded to the
// batch (its batch axis kept at 1): they broadcast it over the batch.
var batchBroadcastReaders = map[string]bool{
	"Concat": true, "Add": true, "Sub": true, "Mul": true, "Div": true, "Where": true, "MatMul": true,
	"Identity": true, "Dropout": true,
}

// sameBatchLayout reports whether a reshape from s to t keeps every sample's
// elements where they were relative to the batch axis: the same number of
// elements before it and after it. A reshape that breaks this, such as
// [3×N×4] to [N×12], interleaves samples once the batch size is concrete.
func sameBatchLayout(s, t Shape) bool {
	bs, bt := s.BatchAxis(), t.BatchAxis()
	return prod(s[:bs]) == prod(t[:bt]) && prod(s[bs+1:]) == prod(t[bt+1:])
}

// split cuts x into parts along a non-batch axis, one Slice per output:
// sizes from the split attribute (opset < 13) or input, else equal parts
// (num_outputs from opset 18, or one per output).
func (im *importer) split(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 2)
	if err != nil {
		return nil, err
	}
	x := in[0]
	axis, err := normAxis(int(attrInt(n, "axis", 0)), len(x.Shape))
	if err != nil {
		return nil, err
	}
	if x.Shape[axis] == Batch {
		return nil, errorf(ErrUnsupported, "Split along the batch axis")
	}
	var sizes []int
	if im.opset < 13 {
		sizes, _, err = attrInts(n, "split")
	} else if len(in) > 1 && in[1] != nil {
		sizes, err = constInts(in[1], "Split sizes")
	}
	if err != nil {
		return nil, err
	}
	dim := x.Shape[axis]
	if sizes == nil {
		parts := len(n.Outputs)
		if k := attrInt(n, "num_outputs", 0); k > 0 {
			parts = int(k)
		}
		if parts < 1 || parts != len(n.Outputs) {
			return nil, errorf(ErrInvalid, "Split into %d parts with %d outputs", parts, len(n.Outputs))
		}
		each := (dim + parts - 1) / parts // the last part may be smaller (opset 18)
		for i := 0; i < parts; i++ {
			sizes = append(sizes, max(0, min(each, dim-i*each)))
		}
	}
	if len(sizes) != len(n.Outputs) {
		return nil, errorf(ErrInvalid, "Split has %d sizes for %d outputs", len(sizes), len(n.Outputs))
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return nil, errorf(ErrInvalid, "Split sizes %v", sizes)
		}
		total += s
	}
	if total != dim {
		return nil, errorf(ErrInvalid, "Split sizes %v do not add up to %d", sizes, dim)
	}
	var first *Value
	at := 0
	for i, s := range sizes {
		op := Slice{Starts: make([]int, len(x.Shape)), Ends: x.Shape.Clone(), Steps: make([]int, len(x.Shape))}
		for d := range op.Steps {
			op.Steps[d] = 1
		}
		op.Starts[axis], op.Ends[axis] = at, at+s
		at += s
		v, err := im.add(fmt.Sprintf("%s/%d", name, i), "Split", op, nil, x)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first = v
		} else if n.Outputs[i] != "" {
			im.vals[n.Outputs[i]] = v
		}
	}
	return first, nil
}
