package ir

// inferShape returns the output shape of op applied to inputs of the given
// shapes, and checks that the op keeps samples independent: no op may mix
// values across the Batch dimension. Reshape's output shape is not a function
// of its input shape; the importer computes it.
func inferShape(op Op, in []Shape) (Shape, error) {
	switch op := op.(type) {
	case Conv:
		x, w := in[0], in[1]
		if len(x) != 4 || len(w) != 4 {
			return nil, errorf(ErrUnsupported, "Conv needs a 4-D input and weight (got %v and %v); only 2-D convolutions are supported", x, w)
		}
		if x.BatchAxis() > 0 {
			return nil, errorf(ErrUnsupported, "Conv input %v has the batch in axis %d, not 0", x, x.BatchAxis())
		}
		if op.Group < 1 || x[1]%op.Group != 0 || w[0]%op.Group != 0 || x[1]/op.Group != w[1] {
			return nil, errorf(ErrInvalid, "Conv with group %d: input channels %d and weight %v do not agree", op.Group, x[1], w)
		}
		if len(in) > 2 && (len(in[2]) != 1 || in[2][0] != w[0]) {
			return nil, errorf(ErrInvalid, "Conv bias %v does not match %d output channels", in[2], w[0])
		}
		if op.Kernel != [2]int{w[2], w[3]} {
			return nil, errorf(ErrInvalid, "Conv kernel_shape %v does not match weight %v", op.Kernel, w)
		}
		oh, err := convOut(x[2], w[2], op.Strides[0], op.Dilations[0], op.Pads[0], op.Pads[2], false)
		if err != nil {
			return nil, err
		}
		ow, err := convOut(x[3], w[3], op.Strides[1], op.Dilations[1], op.Pads[1], op.Pads[3], false)
		if err != nil {
			return nil, err
		}
		return Shape{x[0], w[0], oh, ow}, nil
	case Pool:
		x := in[0]
		if len(x) != 4 || x.BatchAxis() > 0 {
			return nil, errorf(ErrUnsupported, "%s needs an N×C×H×W input, got %v", op.Kind(), x)
		}
		for i := 0; i < 2; i++ {
			if op.Pads[i] >= op.Kernel[i] || op.Pads[i+2] >= op.Kernel[i] {
				return nil, errorf(ErrInvalid, "%s pads %v must be smaller than the kernel %v", op.Kind(), op.Pads, op.Kernel)
			}
		}
		oh, err := convOut(x[2], op.Kernel[0], op.Strides[0], op.Dilations[0], op.Pads[0], op.Pads[2], op.CeilMode)
		if err != nil {
			return nil, err
		}
		ow, err := convOut(x[3], op.Kernel[1], op.Strides[1], op.Dilations[1], op.Pads[1], op.Pads[3], op.CeilMode)
		if err != nil {
			return nil, err
		}
		return Shape{x[0], x[1], oh, ow}, nil
	case GlobalAvgPool:
		x := in[0]
		if len(x) != 4 || x.BatchAxis() > 0 {
			return nil, errorf(ErrUnsupported, "GlobalAveragePool needs an N×C×H×W input, got %v", x)
		}
		return Shape{x[0], x[1], 1, 1}, nil
	case Pad:
		x := in[0]
		if len(op.Begin) != len(x) || len(op.End) != len(x) {
			return nil, errorf(ErrInvalid, "Pad has %d pads for a rank-%d input", len(op.Begin)+len(op.End), len(x))
		}
		out := x.Clone()
		for d := range x {
			if op.Begin[d] < 0 || op.End[d] < 0 {
				return nil, errorf(ErrUnsupported, "Pad with negative pads (cropping)")
			}
			if x[d] == Batch {
				if op.Begin[d] != 0 || op.End[d] != 0 {
					return nil, errorf(ErrUnsupported, "Pad along the batch axis")
				}
				continue
			}
			out[d] = x[d] + op.Begin[d] + op.End[d]
		}
		return out, nil
	case Dense:
		x, w := in[0], in[1]
		if len(w) != 2 || len(x) < 1 || x[len(x)-1] != w[0] {
			return nil, errorf(ErrInvalid, "Dense input %v does not match weight %v", x, w)
		}
		if x[len(x)-1] == Batch {
			return nil, errorf(ErrUnsupported, "a matrix product over the batch axis mixes samples")
		}
		if len(in) > 2 && (len(in[2]) != 1 || in[2][0] != w[1]) {
			return nil, errorf(ErrInvalid, "Dense bias %v does not match weight %v", in[2], w)
		}
		out := x.Clone()
		out[len(out)-1] = w[1]
		return out, nil
	case MatMul:
		return matmulShape(in[0], in[1])
	case Binary:
		return broadcastSym(in[0], in[1])
	case Unary:
		return in[0].Clone(), nil
	case Softmax:
		x := in[0]
		if op.Axis < 0 || op.Axis >= len(x) {
			return nil, errorf(ErrInvalid, "%s axis %d out of range for %v", op.Kind(), op.Axis, x)
		}
		if x[op.Axis] == Batch {
			return nil, errorf(ErrUnsupported, "%s over the batch axis mixes samples", op.Kind())
		}
		return x.Clone(), nil
	case Transpose:
		x := in[0]
		if len(op.Perm) != len(x) {
			return nil, errorf(ErrInvalid, "Transpose perm %v for a rank-%d input", op.Perm, len(x))
		}
		seen := make([]bool, len(x))
		out := make(Shape, len(x))
		for i, p := range op.Perm {
			if p < 0 || p >= len(x) || seen[p] {
				return nil, errorf(ErrInvalid, "Transpose perm %v is not a permutation", op.Perm)
			}
			seen[p] = true
			out[i] = x[p]
		}
		return out, nil
	case Concat:
		out := in[0].Clone()
		if op.Axis < 0 || op.Axis >= len(out) {
			return nil, errorf(ErrInvalid, "Concat axis %d out of range for %v", op.Axis, out)
		}
		if out[op.Axis] == Batch {
			return nil, errorf(ErrUnsupported, "Concat along the batch axis")
		}
		for _, s := range in[1:] {
			if len(s) != len(out) {
				return nil, errorf(ErrInvalid, "Concat of %v and %v", in[0], s)
			}
			for d := range s {
				switch {
				case d == op.Axis:
					if s[d] == Batch {
						return nil, errorf(ErrUnsupported, "Concat along the batch axis")
					}
					out[d] += s[d]
				case s[d] == Batch && out[d] == 1, s[d] == 1 && out[d] == Batch:
					// A constant expanded to the batch (class tokens) keeps a
					// batch axis of 1 and is broadcast over the batch.
					out[d] = Batch
				case s[d] != out[d]:
					return nil, errorf(ErrInvalid, "Concat of %v and %v along axis %d", in[0], s, op.Axis)
				}
			}
		}
		return out, nil
	case Slice:
		x := in[0]
		out := x.Clone()
		for d := range x {
			if x[d] == Batch {
				if op.Starts[d] != 0 || op.Steps[d] != 1 || op.Ends[d] != Batch {
					return nil, errorf(ErrUnsupported, "Slice along the batch axis")
				}
				continue
			}
			out[d] = sliceLen(op.Starts[d], op.Ends[d], op.Steps[d])
		}
		return out, nil
	case LayerNorm:
		return layerNormShape(op, in)
	case ReduceMax:
		return reduceShape(op.Kind(), op.Axes, op.KeepDims, in[0])
	case Reduce:
		return reduceShape(op.Kind(), op.Axes, op.KeepDims, in[0])
	}
	return nil, errorf(ErrUnsupported, "no shape rule for %s", op.Kind())
}

// reduceShape is the shape of x reduced over axes (of an op named kind),
// kept as size-1 dimensions with keepDims; reducing the batch axis would mix
// samples and is refused.
func reduceShape(kind string, axes []int, keepDims bool, x Shape) (Shape, error) {
	var out Shape
	red := make([]bool, len(x))
	for _, a := range axes {
		if a < 0 || a >= len(x) {
			return nil, errorf(ErrInvalid, "%s axis %d out of range for %v", kind, a, x)
		}
		if x[a] == Batch {
			return nil, errorf(ErrUnsupported, "%s over the batch axis mixes samples", kind)
		}
		red[a] = true
	}
	for d := range x {
		switch {
		case !red[d]:
			out = append(out, x[d])
		case keepDims:
			out = append(out, 1)
		}
	}
	return out, nil
}

// sliceLen is the number of elements of range(start, end, step).
func sliceLen(start, end, step int) int {
	if step > 0 && end > start {
		return (end - start + step - 1) / step
	}
	if step < 0 && end < start {
		return (start - end - step - 1) / -step
	}
	return 0
}

// convOut is the output size of a convolution or pooling window along one axis.
func convOut(in, k, stride, dil, padBegin, padEnd int, ceil bool) (int, error) {
	if stride < 1 || dil < 1 || k < 1 {
		return 0, errorf(ErrInvalid, "kernel %d, stride %d, dilation %d must be positive", k, stride, dil)
	}
	span := in + padBegin + padEnd - dil*(k-1) - 1
	if span < 0 {
		return 0, errorf(ErrInvalid, "window of %d (dilation %d) larger than the padded input %d", k, dil, in+padBegin+padEnd)
	}
	out := span/stride + 1
	if ceil && span%stride != 0 {
		out++
		// PyTorch (and ONNX Runtime) drop a last window starting in the end padding.
		if (out-1)*stride >= in+padBegin {
			out--
		}
	}
	return out, nil
}

// broadcastSym broadcasts two shapes that may hold Batch. A Batch dimension
// broadcasts against 1 or Batch only.
func broadcastSym(a, b Shape) (Shape, error) {
	n := max(len(a), len(b))
	out := make(Shape, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if k := i - (n - len(a)); k >= 0 {
			da = a[k]
		}
		if k := i - (n - len(b)); k >= 0 {
			db = b[k]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, errorf(ErrInvalid, "shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func matmulShape(a, b Shape) (Shape, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, errorf(ErrInvalid, "MatMul of a scalar")
	}
	as, bs := a.Clone(), b.Clone()
	sqA, sqB := false, false
	if len(as) == 1 {
		as, sqA = Shape{1, as[0]}, true
	}
	if len(bs) == 1 {
		bs, sqB = Shape{bs[0], 1}, true
	}
	k1, k2 := as[len(as)-1], bs[len(bs)-2]
	if k1 != k2 {
		return nil, errorf(ErrInvalid, "MatMul of %v and %v: inner dimensions differ", a, b)
	}
	if k1 == Batch {
		return nil, errorf(ErrUnsupported, "a matrix product over the batch axis mixes samples")
	}
	batch, err := broadcastSym(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, err
	}
	out := append(batch, as[len(as)-2], bs[len(bs)-1])
	if sqB {
		out = out[:len(out)-1]
	}
	if sqA {
		if sqB {
			out = out[:len(out)-1]
		} else {
			out = append(out[:len(out)-2:len(out)-2], out[len(out)-1])
		}
	}
	return out, nil
}
