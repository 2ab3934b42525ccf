package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/advcheck/advcheck/models"
)

// modelOptions are the flags that say how to load a model and how pixel-space
// inputs reach it.
type modelOptions struct {
	model     string
	layout    string
	bounds    string
	scale     float64
	mean, std string
	shape     string
	maxBytes  int64
	maxTensor int64
}

func (o *modelOptions) addFlags(fs *pflag.FlagSet, withModel bool) {
	if withModel {
		fs.StringVar(&o.model, "model", "zoo:mnist-cnn", "ONNX model file, or zoo:NAME for an embedded model (see `advcheck inspect --zoo`)")
	}
	fs.StringVar(&o.layout, "layout", "nchw", "layout of the model's input tensor: nchw or nhwc (attacks always see N×C×H×W)")
	fs.StringVar(&o.bounds, "bounds", "0,1", "LO,HI: valid pixel values; epsilon is measured in these units")
	fs.Float64Var(&o.scale, "scale", 1, "the model expects pixels × SCALE (e.g. 255 for models trained on [0,255])")
	fs.StringVar(&o.mean, "mean", "", "per-channel mean subtracted inside the model after --scale, e.g. 0.485,0.456,0.406")
	fs.StringVar(&o.std, "std", "", "per-channel std divided inside the model after --mean, e.g. 0.229,0.224,0.225")
	fs.StringVar(&o.shape, "input-shape", "", "C,H,W: the per-sample input size, for models whose input sizes are not fixed (e.g. dynamic height and width); sizes the model fixes must match")
	def := defaultLimitsOptions()
	fs.Int64Var(&o.maxBytes, "max-model-bytes", def.maxBytes, "refuse model files larger than this")
	fs.Int64Var(&o.maxTensor, "max-tensor-elements", def.maxTensor, "refuse models with a tensor (stored in the file or folded at load) of more elements than this")
}

// defaultLimitsOptions are the limit flags' defaults.
func defaultLimitsOptions() modelOptions {
	def := models.DefaultLimits()
	return modelOptions{maxBytes: def.MaxBytes, maxTensor: def.MaxTensorElements}
}

// parseFloats parses "a,b,c".
func parseFloats(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// parseShape parses "C,H,W" (sizes of at least 1; an empty string is nil).
func parseShape(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a size; want C,H,W, e.g. 3,224,224", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// contract builds the input contract from the flags. Its values are
// checked by models.CheckContract, as a policy's are: zero bounds and a zero
// scale are mistakes on the command line, not requests for [0, 1] or ×1.
func (o *modelOptions) contract() (models.Contract, error) {
	c := models.Contract{Layout: models.Layout(strings.ToLower(o.layout)), Scale: o.scale}
	b, err := parseFloats(o.bounds)
	if err != nil || len(b) != 2 {
		return c, usageErr(fmt.Errorf("--bounds %q: want LO,HI", o.bounds))
	}
	c.Lo, c.Hi = b[0], b[1]
	if c.Mean, err = parseFloats(o.mean); err != nil {
		return c, usageErr(fmt.Errorf("--mean: %v", err))
	}
	if c.Std, err = parseFloats(o.std); err != nil {
		return c, usageErr(fmt.Errorf("--std: %v", err))
	}
	if c.InputShape, err = parseShape(o.shape); err != nil {
		return c, usageErr(fmt.Errorf("--input-shape %q: %v", o.shape, err))
	}
	if err := models.CheckContract(c); err != nil {
		return c, usageErr(o.contractFlagError(err))
	}
	if err := o.checkLimits(); err != nil {
		return c, err
	}
	n, err := c.Normalized()
	if err != nil {
		return c, usageErr(fmt.Errorf("input contract: %v", err))
	}
	return n, nil
}

// contractFlagError names the flag, with the text given, of a value
// models.CheckContract refused.
func (o *modelOptions) contractFlagError(err error) error {
	var ce *models.ContractValueError
	if !errors.As(err, &ce) {
		return fmt.Errorf("input contract: %w", err)
	}
	given := map[string]string{"layout": o.layout, "bounds": o.bounds, "scale": strconv.FormatFloat(o.scale, 'g', -1, 64), "mean": o.mean, "std": o.std, "input_shape": o.shape}[ce.Field]
	if ce.Field != "scale" {
		given = strconv.Quote(given)
	}
	return fmt.Errorf("--%s %s: %s", strings.ReplaceAll(ce.Field, "_", "-"), given, ce.Reason)
}

// checkLimits refuses limits that are not positive: models.Limits reads
// zero or less as "no limit", which a typo must not switch on.
func (o *modelOptions) checkLimits() error {
	if o.maxBytes < 1 {
		return usageErr(fmt.Errorf("--max-model-bytes %d: want at least 1", o.maxBytes))
	}
	if o.maxTensor < 1 {
		return usageErr(fmt.Errorf("--max-tensor-elements %d: want at least 1", o.maxTensor))
	}
	return nil
}

func (o *modelOptions) limits() models.Limits {
	lim := models.DefaultLimits()
	lim.MaxBytes = o.maxBytes
	lim.MaxTensorElements = o.maxTensor
	return lim
}

// load opens the model named by spec (a path or zoo:NAME).
func (o *modelOptions) load(spec string) (*models.Classifier, error) {
	c, err := o.contract()
	if err != nil {
		return nil, err
	}
	return models.Load(spec, c, o.limits())
}
