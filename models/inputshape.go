package models

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/models/onnx"
)

// maxInputDim bounds one dimension of an input shape given in a contract, as
// the importer bounds the dimensions a file declares.
const maxInputDim = 1 << 24

// checkInputShape checks Contract.InputShape as given (nil is the file's shape).
func checkInputShape(s []int) error {
	if s == nil {
		return nil
	}
	if len(s) == 0 {
		return &ContractValueError{Field: "input_shape", Value: "[]", Reason: "want the per-sample shape, e.g. 3,224,224"}
	}
	n := 1
	for _, d := range s {
		if d < 1 || d > maxInputDim {
			return &ContractValueError{Field: "input_shape", Value: ShapeString(s), Reason: fmt.Sprintf("want sizes from 1 to %d", maxInputDim)}
		}
		n *= d
		if n > 1<<26 {
			return &ContractValueError{Field: "input_shape", Value: ShapeString(s), Reason: fmt.Sprintf("over %d values per sample", 1<<26)}
		}
	}
	return nil
}

// ShapeString writes a shape as the --input-shape flag takes it: "3,224,224".
func ShapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

// InputShapeError is a model whose input has dimensions of no fixed size
// (ONNX dim_param names or unknown dimensions besides the batch) loaded
// without Contract.InputShape. It is an input contract error: the model is
// fine, the caller must say which size to use.
type InputShapeError struct {
	Input    string   // the input's name
	Dims     []string // its declared dimensions, batch first, in the file's layout
	Template string   // the per-sample shape to give, C,H,W, with the unknown sizes as names
	Hints    []string // what the file says about its sizes (metadata_props), key=value
}

func (e *InputShapeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "input %q has shape [%s] with sizes that are not fixed; give the per-sample shape (C,H,W) with --input-shape %s (a policy: model.input_shape)",
		textsafe.Line(e.Input), textsafe.Line(strings.Join(e.Dims, ", ")), textsafe.Line(e.Template))
	if len(e.Hints) > 0 {
		fmt.Fprintf(&b, "; the model's metadata says %s", textsafe.Line(strings.Join(e.Hints, ", ")))
	}
	return b.String()
}

// applyInputShape fixes the dimensions of the model's input to the
// per-sample shape of c (pixel space, C×H×W for images) and reports whether
// it changed a dimension that was not fixed. Without c.InputShape, an input
// whose non-batch dimensions are not all fixed is an *InputShapeError; a
// given shape must match every dimension the file fixes.
func applyInputShape(om *onnx.Model, c Contract) (bool, error) {
	if om.Graph == nil {
		return false, nil
	}
	vi := graphInput(om.Graph)
	if vi == nil || !vi.HasShape || len(vi.Dims) < 2 {
		if c.InputShape != nil {
			return false, fmt.Errorf("input_shape %s: the model's input declares no shape to fix", ShapeString(c.InputShape))
		}
		return false, nil // the importer says what is wrong
	}
	rank := len(vi.Dims)
	// perm[i] is the file dimension that holds pixel-space dimension i+1
	// (the input contract's C,H,W order; an NHWC file holds H,W,C).
	perm := make([]int, rank-1)
	for i := range perm {
		perm[i] = i + 1
	}
	if c.Layout == NHWC && rank == 4 {
		perm = []int{3, 1, 2}
	}
	fixed := func(d onnx.Dim) bool { return d.Known && d.Value > 0 }
	if c.InputShape == nil {
		missing := false
		for _, d := range vi.Dims[1:] {
			missing = missing || !fixed(d)
		}
		if !missing {
			return false, nil
		}
		e := &InputShapeError{Input: vi.Name, Hints: shapeHints(om)}
		for i, d := range vi.Dims {
			e.Dims = append(e.Dims, dimString(d, i))
		}
		tmpl := make([]string, len(perm))
		for i, f := range perm {
			d := vi.Dims[f]
			switch {
			case fixed(d):
				tmpl[i] = strconv.FormatInt(d.Value, 10)
			case rank == 4:
				tmpl[i] = []string{"C", "H", "W"}[i]
			default:
				tmpl[i] = fmt.Sprintf("D%d", i+1)
			}
		}
		e.Template = strings.Join(tmpl, ",")
		return false, e
	}
	if len(c.InputShape) != rank-1 {
		return false, fmt.Errorf("input_shape %s has %d sizes, but input %q has %d dimensions besides the batch ([%s])",
			ShapeString(c.InputShape), len(c.InputShape), textsafe.Line(vi.Name), rank-1, dimList(vi.Dims))
	}
	dims := append([]onnx.Dim(nil), vi.Dims...)
	changed := false
	for i, f := range perm {
		want := int64(c.InputShape[i])
		if d := dims[f]; fixed(d) {
			if d.Value != want {
				return false, fmt.Errorf("input_shape %s: size %d of input %q is fixed at %d by the model, not %d ([%s])",
					ShapeString(c.InputShape), i+1, textsafe.Line(vi.Name), d.Value, want, dimList(vi.Dims))
			}
			continue
		}
		dims[f] = onnx.Dim{Value: want, Known: true}
		changed = true
	}
	vi.Dims = dims
	return changed, nil
}

// graphInput returns the graph's input that is not an initializer (the
// first, when there are several: the importer refuses those).
func graphInput(g *onnx.Graph) *onnx.ValueInfo {
	init := map[string]bool{}
	for _, t := range g.Initializers {
		init[t.Name] = true
	}
	for _, vi := range g.Inputs {
		if !init[vi.Name] {
			return vi
		}
	}
	return nil
}

func dimString(d onnx.Dim, i int) string {
	switch {
	case d.Known:
		return strconv.FormatInt(d.Value, 10)
	case d.Param != "":
		return d.Param
	case i == 0:
		return "N"
	}
	return "?"
}

func dimList(ds []onnx.Dim) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = dimString(d, i)
	}
	return textsafe.Line(strings.Join(parts, ", "))
}

// shapeHints returns the model's metadata_props entries that speak of input
// sizes (keys naming a shape, size or resolution), at most four, values cut
// at 60 bytes.
func shapeHints(om *onnx.Model) []string {
	var out []string
	for _, kv := range om.Metadata {
		k := strings.ToLower(kv.Key)
		if !strings.Contains(k, "shape") && !strings.Contains(k, "size") && !strings.Contains(k, "resolution") {
			continue
		}
		v := kv.Value
		if len(v) > 60 {
			v = v[:60] + "…"
		}
		out = append(out, fmt.Sprintf("%s=%q", kv.Key, v))
		if len(out) == 4 {
			break
		}
	}
	return out
}
