package ir

import "math"

// ReduceMax takes the maximum (or, with Min, the minimum) over Axes. Its
// gradient goes to the first extreme element in row-major order, as
// PyTorch's amax/amin on distinct values (and MaxPool on ties) do.
type ReduceMax struct {
	Axes     []int
	KeepDims bool
	Min      bool
}

// Kind returns the ONNX name of the op.
func (r ReduceMax) Kind() string {
	if r.Min {
		return "ReduceMin"
	}
	return "ReduceMax"
}

func refReduceMax(op ReduceMax, x, y *Tensor) {
	reduced := make([]bool, len(x.Shape))
	for _, a := range op.Axes {
		reduced[a] = true
	}
	keep := make([]int, len(x.Shape))
	for d := range x.Shape {
		keep[d] = x.Shape[d]
		if reduced[d] {
			keep[d] = 1
		}
	}
	for i := range y.Data {
		y.Data[i] = math.Inf(-1)
		if op.Min {
			y.Data[i] = math.Inf(1)
		}
	}
	ks := strides(keep)
	idx := make([]int, len(x.Shape))
	for i, v := range x.Data {
		unravel(i, x.Shape, idx)
		off := 0
		for d, k := range idx {
			if !reduced[d] {
				off += k * ks[d]
			}
		}
		if (!op.Min && v > y.Data[off]) || (op.Min && v < y.Data[off]) {
			y.Data[off] = v
		}
	}
	y.Int = x.Int
}
