package ir

import (
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models/onnx"
)

// Ops that make a constant larger than their inputs: Expand, Tile and Range.
// They appear in exported shape computations; advcheck folds them when their
// inputs are constants, reserving the output from its shape first. On
// activations Expand is a broadcast and Tile a broadcast between reshapes.

// constInput returns a constant input that is free of the batch size.
func constInput(v *Value, what string) (*Tensor, error) {
	if !v.IsConst() {
		return nil, errorf(ErrUnsupported, "%s of the model's activations (advcheck folds it on constants only)", what)
	}
	if v.Const.HasSym() {
		return nil, errorf(ErrUnsupported, "%s of a value that depends on the batch size", what)
	}
	return v.Const, nil
}

// constDims reads a constant list of sizes (a shape, repeats).
func constDims(v *Value, what string) ([]int, error) {
	if _, err := constInput(v, what); err != nil {
		return nil, err
	}
	dims, err := constInts(v, what)
	if err != nil {
		return nil, err
	}
	for _, d := range dims {
		if d < 0 {
			return nil, errorf(ErrInvalid, "%s %v holds a negative size", what, dims)
		}
	}
	return dims, nil
}

func (im *importer) expand(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	if !in[1].IsConst() {
		return nil, errorf(ErrUnsupported, "Expand shape must be a constant (it depends on the input values)")
	}
	dims, err := constInts(in[1], "Expand shape")
	if err != nil {
		return nil, err
	}
	batch := false
	for i, d := range dims {
		switch {
		case d == symDim:
			// x.expand(N, ...), as a class token is broadcast to the batch.
			batch = true
			dims[i] = 1
		case d < 0:
			return nil, errorf(ErrInvalid, "Expand shape %v holds a negative size", dims)
		}
	}
	if !in[0].IsConst() {
		if batch {
			for i := range dims {
				if in[1].Const.Sym[i] {
					dims[i] = symDim
				}
			}
		}
		return im.expandActivations(in[0], dims, name)
	}
	x, err := constInput(in[0], "Expand")
	if err != nil {
		return nil, err
	}
	out, err := broadcastShape(x.Shape, dims)
	if err != nil {
		return nil, err
	}
	if err := im.reserve("Expand output", out); err != nil {
		return nil, err
	}
	y := NewTensor(out...)
	y.Int = x.Int
	idx := make([]int, len(out))
	for i := range y.Data {
		unravel(i, out, idx)
		y.Data[i] = x.Data[broadcastOffset(idx, x.Shape)]
	}
	v := constValue(n.Outputs[0], y)
	if batch {
		// The batch axis stays 1: the ops that may read v broadcast it
		// over the batch (see batchBroadcastReaders).
		im.bcast[v] = name
	}
	return v, nil
}

func (im *importer) tile(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	if !in[0].IsConst() {
		reps, err := constDims(in[1], "Tile repeats")
		if err != nil {
			return nil, err
		}
		return im.tileActivations(in[0], reps, name)
	}
	x, err := constInput(in[0], "Tile")
	if err != nil {
		return nil, err
	}
	reps, err := constDims(in[1], "Tile repeats")
	if err != nil {
		return nil, err
	}
	if len(reps) != len(x.Shape) {
		return nil, errorf(ErrInvalid, "Tile has %d repeats for a rank-%d input", len(reps), len(x.Shape))
	}
	out := make([]int, len(reps))
	for i, r := range reps {
		out[i] = x.Shape[i] * r // both below 2^31: no overflow; reserve bounds the product
	}
	if err := im.reserve("Tile output", out); err != nil {
		return nil, err
	}
	y := NewTensor(out...)
	y.Int = x.Int
	st := strides(x.Shape)
	idx := make([]int, len(out))
	for i := range y.Data {
		unravel(i, out, idx)
		off := 0
		for d, k := range idx {
			off += (k % x.Shape[d]) * st[d]
		}
		y.Data[i] = x.Data[off]
	}
	return constValue(n.Outputs[0], y), nil
}

func (im *importer) rangeOp(n *onnx.Node, _ string) (*Value, error) {
	in, err := im.inputs(n, 3, 3)
	if err != nil {
		return nil, err
	}
	var v [3]float64
	for i, what := range []string{"Range start", "Range limit", "Range delta"} {
		t, err := constInput(in[i], what)
		if err != nil {
			return nil, err
		}
		if len(t.Data) != 1 {
			return nil, errorf(ErrInvalid, "%s has %d values, want a scalar", what, len(t.Data))
		}
		v[i] = t.Data[0]
	}
	start, limit, delta := v[0], v[1], v[2]
	if delta == 0 {
		return nil, errorf(ErrInvalid, "Range delta 0")
	}
	// The count comes from the scalars alone, so it is checked before any
	// allocation; counts past 2^40 are clamped there, far over every limit.
	count := math.Max(math.Ceil((limit-start)/delta), 0)
	if math.IsNaN(count) {
		return nil, errorf(ErrInvalid, "Range from %v to %v by %v", start, limit, delta)
	}
	size := int(math.Min(count, 1<<40))
	if err := im.reserve("Range output", []int{size}); err != nil {
		return nil, err
	}
	y := NewTensor(size)
	y.Int = in[0].Const.Int
	for i := range y.Data {
		y.Data[i] = start + float64(i)*delta
	}
	return constValue(n.Outputs[0], y), nil
}

// tileActivations repeats an activation reps[d] times along each axis d
// other than the batch. Along one axis of size n, x[..., n, ...] is
// reshaped to [..., 1, n, ...], broadcast to [..., r, n, ...] by adding
// zeros of shape [1, ..., r, 1, ...] (exact; the broadcast's gradient sums
// the copies) and reshaped to [..., r·n, ...]: element k of the result is
// element k mod n of x, as Tile defines.
func (im *importer) tileActivations(x *Value, reps []int, name string) (*Value, error) {
	if len(reps) != len(x.Shape) {
		return nil, errorf(ErrInvalid, "Tile has %d repeats for a rank-%d input", len(reps), len(x.Shape))
	}
	y := x
	for d, r := range reps {
		if r == 1 {
			continue
		}
		if x.Shape[d] == Batch {
			return nil, errorf(ErrUnsupported, "Tile of %v repeats the batch axis %d times: it would mix samples", x.Shape, r)
		}
		if r == 0 || x.Shape[d] == 0 {
			return nil, errorf(ErrUnsupported, "Tile of %v with repeats %v leaves an empty tensor", x.Shape, reps)
		}
		s := y.Shape
		split := append(append(s[:d:d], 1), s[d:]...)
		label := fmt.Sprintf("%s/axis%d", name, d)
		v, err := im.reshapeTo(label+"/split", "Tile", y, split)
		if err != nil {
			return nil, err
		}
		zs := make([]int, len(split))
		for i := range zs {
			zs[i] = 1
		}
		zs[d] = r
		if err := im.reserve("Tile zeros", zs); err != nil {
			return nil, err
		}
		if v, err = im.add(label+"/repeat", "Tile", Binary{Add}, nil, v, constValue(label+"/zeros", NewTensor(zs...))); err != nil {
			return nil, err
		}
		merged := s.Clone()
		merged[d] = r * s[d]
		if y, err = im.reshapeTo(label, "Tile", v, merged); err != nil {
			return nil, err
		}
	}
	return y, nil
}
