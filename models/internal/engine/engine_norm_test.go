package engine

import (
	"math/rand/v2"

	"github.com/advcheck/advcheck/models/ir"
)

// layerNorm builds LayerNorm over the axes from axis on, with random scale
// and bias, around an optional transpose that moves the batch off axis 0.
func layerNorm(axis int, perm []int) func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
	return func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		x := b.Input()
		var err error
		if perm != nil {
			if x, err = b.Add("pre", ir.Transpose{Perm: perm}, nil, x); err != nil {
				return nil, err
			}
		}
		norm := []int(x.Shape[axis:])
		g := randTensor(rng, 1, norm...)
		bias := randTensor(rng, 1, norm...)
		y, err := b.Add("ln", ir.LayerNorm{Axis: axis, Epsilon: 1e-5}, nil, x, b.Const("g", g), b.Const("b", bias))
		if err != nil {
			return nil, err
		}
		// A non-linearity after it, so that the loss is not a function of the
		// normalised values alone through a linear map.
		if y, err = b.Add("tanh", ir.Unary{Func: ir.Tanh}, nil, y); err != nil {
			return nil, err
		}
		if perm != nil { // perm is its own inverse: the batch returns to axis 0
			if y, err = b.Add("post", ir.Transpose{Perm: perm}, nil, y); err != nil {
				return nil, err
			}
		}
		return flatten(b, y)
	}
}

func init() {
	cases = append(cases,
		opCase{"layernorm/last", ir.Shape{ir.Batch, 5, 8}, layerNorm(2, nil)},
		opCase{"layernorm/last-two", ir.Shape{ir.Batch, 3, 4, 5}, layerNorm(2, nil)},
		opCase{"layernorm/batch-axis1", ir.Shape{ir.Batch, 3, 6}, layerNorm(2, []int{1, 0, 2})},
		opCase{"layernorm/one-axis-rank2", ir.Shape{ir.Batch, 9}, layerNorm(1, nil)},
		opCase{"reducemax/axes1,3-keepdims", ir.Shape{ir.Batch, 3, 4, 5}, single(ir.ReduceMax{Axes: []int{1, 3}, KeepDims: true})},
		opCase{"reducemin/axis2", ir.Shape{ir.Batch, 3, 4}, single(ir.ReduceMax{Axes: []int{2}, Min: true})},
		// A class token expanded to the batch keeps a batch axis of 1.
		opCase{"concat/batch-broadcast-const", ir.Shape{ir.Batch, 3, 4}, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
			y, err := b.Add("cat", ir.Concat{Axis: 1}, nil, b.Const("tok", randTensor(rng, 1, 1, 1, 4)), b.Input(), b.Const("tail", randTensor(rng, 1, 1, 2, 4)))
			if err != nil {
				return nil, err
			}
			if y, err = b.Add("tanh", ir.Unary{Func: ir.Tanh}, nil, y); err != nil {
				return nil, err
			}
			return flatten(b, y)
		}},
	)
}
