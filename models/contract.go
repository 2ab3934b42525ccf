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
	// InputShape is the per-sample input shape in pixel space (C×H×W for
	// images, whatever the layout), fixing the input's dimensions that the
	// file leaves open (ONNX dim_param names, e.g. a dynamic height and
	// width); nil means the file's shape, which must then be fixed. A size
	// the file fixes must be given as the file has it.
	InputShape []int
}

// Normalized returns c with defaults filled in (see Contract), or an error
// naming the field that is wrong (a *ContractValueError).
func (c Contract) Normalized() (Contract, error) {
	if c.Layout == "" {
		c.Layout = NCHW
	}
	if c.Lo == 0 && c.Hi == 0 {
		c.Hi = 1
	}
	if c.Scale == 0 {
		c.Scale = 1
	}
	if err := CheckContract(c); err != nil {
		return c, err
	}
	c.Layout = Layout(strings.ToLower(string(c.Layout)))
	return c, nil
}

// ContractValueError is a value of an input contract that no model can
// take, such as bounds with lo ≥ hi or a zero scale. Field is "layout",
// "bounds", "scale", "mean", "std" or "input_shape", so that a caller can name where the
// value came from (a flag, a key of a policy file); Reason says what is
// wanted and may name another field.
type ContractValueError struct {
	Field  string
	Value  string // the value as the contract holds it
	Reason string
}

func (e *ContractValueError) Error() string { return e.Field + " " + e.Value + ": " + e.Reason }

// CheckContract checks the values of c as given, with no defaults: the
// layout is nchw or nhwc (any case), the bounds are finite with Lo < Hi,
// the scale is positive and finite, and mean and std are given together,
// one finite value and one positive finite value per channel. Zero bounds
// and a zero scale are errors here: only Normalized reads them as the
// defaults, for callers that build a Contract in code. Settings a user
// writes (command-line flags, policy files) are checked with this function
// so that a mistake is refused, never replaced by a default. The error is a
// *ContractValueError.
func CheckContract(c Contract) error {
	bad := func(field string, value any, format string, args ...any) error {
		return &ContractValueError{Field: field, Value: fmt.Sprint(value), Reason: fmt.Sprintf(format, args...)}
	}
	switch strings.ToLower(string(c.Layout)) {
	case "nchw", "nhwc":
	default:
		return bad("layout", fmt.Sprintf("%q", c.Layout), "want nchw or nhwc")
	}
	if !(c.Lo < c.Hi) || math.IsInf(c.Lo, 0) || math.IsInf(c.Hi, 0) {
		return bad("bounds", []float64{c.Lo, c.Hi}, "want LO < HI, both finite")
	}
	if !(c.Scale > 0) || math.IsInf(c.Scale, 0) {
		return bad("scale", c.Scale, "want a positive finite number")
	}
	switch {
	case c.Mean != nil && c.Std == nil:
		return bad("mean", c.Mean, "given without std: give both, one value per channel")
	case c.Mean == nil && c.Std != nil:
		return bad("std", c.Std, "given without mean: give both, one value per channel")
	case len(c.Mean) != len(c.Std):
		return bad("mean", c.Mean, "%d values, but std has %d: give one per channel in both", len(c.Mean), len(c.Std))
	}
	for _, m := range c.Mean {
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return bad("mean", c.Mean, "want finite values")
		}
	}
	for _, s := range c.Std {
		if !(s > 0) || math.IsInf(s, 0) {
			return bad("std", c.Std, "want positive finite values")
		}
	}
	return checkInputShape(c.InputShape)
}
