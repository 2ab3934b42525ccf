package models

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrContract is wrapped (beside ErrBadModel) by errors saying that an input
// contract is invalid or does not fit the model, e.g. three --mean values for
// a one-channel model: the caller's settings are wrong, not the file.
var ErrContract = errors.New("input contract")

// contractError is an input contract that is invalid or does not fit the
// model. It is ErrBadModel (the model cannot be loaded as asked) and
// ErrContract (the asking is what is wrong).
type contractError struct{ err error }

func (e contractError) Error() string   { return "input contract: " + e.err.Error() }
func (e contractError) Unwrap() []error { return []error{ErrBadModel, ErrContract, e.err} }

// Layout is the memory layout of a 4-D image input.
type Layout string

// Layouts.
const (
	NCHW Layout = "nchw"
	NHWC Layout = "nhwc"
)

// Contract says how pixel-space inputs reach the model, so that epsilon is
// always measured in pixel space: attacks see N×C×H×W values in [Lo, Hi];
// the model receives (x·Scale − Mean)/Std per channel, transposed to NHWC
// when Layout is NHWC. The preprocessing runs inside the model's graph, so
// gradients flow through it.
type Contract struct {
	Layout     Layout    // layout of the ONNX model's input; "" means NCHW
	Lo, Hi     float64   // pixel bounds; both zero means [0, 1]
	Scale      float64   // multiply pixels by Scale first (e.g. 255 for a model that expects [0, 255]); 0 means 1
	Mean, Std  []float64 // per-channel normalisation after Scale; nil means none
	ClassNames []string  // optional, one per class
}

// Normalized returns c with defaults filled in, or an error naming the
// field that is wrong.
func (c Contract) Normalized() (Contract, error) {
	switch strings.ToLower(string(c.Layout)) {
	case "", "nchw":
		c.Layout = NCHW
	case "nhwc":
		c.Layout = NHWC
	default:
		return c, fmt.Errorf("layout %q: want nchw or nhwc", c.Layout)
	}
	if c.Lo == 0 && c.Hi == 0 {
		c.Hi = 1
	}
	if !(c.Lo < c.Hi) || math.IsInf(c.Lo, 0) || math.IsInf(c.Hi, 0) {
		return c, fmt.Errorf("bounds [%v, %v]: want finite lo < hi", c.Lo, c.Hi)
	}
	if c.Scale == 0 {
		c.Scale = 1
	}
	if math.IsNaN(c.Scale) || math.IsInf(c.Scale, 0) || c.Scale < 0 {
		return c, fmt.Errorf("scale %v: want a positive number", c.Scale)
	}
	if (c.Mean == nil) != (c.Std == nil) {
		return c, fmt.Errorf("mean and std must be given together")
	}
	for _, s := range c.Std {
		if !(s > 0) || math.IsInf(s, 0) {
			return c, fmt.Errorf("std %v: want positive values", c.Std)
		}
	}
	for _, m := range c.Mean {
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return c, fmt.Errorf("mean %v: want finite values", c.Mean)
		}
	}
	return c, nil
}
