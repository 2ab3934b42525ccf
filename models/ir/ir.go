package ir

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Batch marks the symbolic batch dimension in a Shape. Every dynamic value of
// a Graph has exactly one Batch dimension; constants have none.
const Batch = -1

// Shape is a tensor shape whose entries are sizes ≥ 0 or Batch.
type Shape []int

// Concrete returns s with Batch replaced by n.
func (s Shape) Concrete(n int) []int {
	out := make([]int, len(s))
	for i, d := range s {
		if d == Batch {
			d = n
		}
		out[i] = d
	}
	return out
}

// BatchAxis returns the index of the Batch dimension, or -1.
func (s Shape) BatchAxis() int {
	for i, d := range s {
		if d == Batch {
			return i
		}
	}
	return -1
}

// PerSample returns the number of elements per sample: the product of the
// dimensions other than Batch.
func (s Shape) PerSample() int {
	p := 1
	for _, d := range s {
		if d != Batch {
			p *= d
		}
	}
	return p
}

// Equal reports whether s and t are the same shape.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d == Batch {
			parts[i] = "N"
		} else {
			parts[i] = strconv.Itoa(d)
		}
	}
	return "[" + strings.Join(parts, "×") + "]"
}

// Clone returns a copy of s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Tensor is a constant: values in C order, in Data (float64) or, for the
// float32 weights of a model file, in F32. Integer tensors (shape
// computations) hold exact integers; Sym marks entries that stand for the
// symbolic batch size (only shape computations carry them).
//
// F32 keeps a float32 tensor of the file as it is stored, so that a large
// model's weights are not held in float64 (twice the file) when the engine
// needs only float32: import leaves in F32 the weights that Conv, Gemm and
// MatMul only pass on to the engine, and widens every constant it computes
// with (Float64s, Widen). Widening a float32 is exact, so a value reads the
// same in either form.
type Tensor struct {
	Shape []int
	Data  []float64 // the values, unless F32 holds them
	F32   []float32 // non-nil: the values, held as float32, and Data is nil
	Int   bool      // the ONNX type was an integer or bool type
	Sym   []bool    // nil, or one flag per element: the element is the batch size
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	if t.F32 != nil {
		return len(t.F32)
	}
	return len(t.Data)
}

// Float64s returns the values as float64: Data itself (not a copy), or F32
// widened into a new slice.
func (t *Tensor) Float64s() []float64 {
	if t.F32 == nil {
		return t.Data
	}
	d := make([]float64, len(t.F32))
	for i, v := range t.F32 {
		d[i] = float64(v)
	}
	return d
}

// Widen moves values held in F32 to Data, in place, and returns t.
func (t *Tensor) Widen() *Tensor {
	if t.F32 != nil {
		t.Data, t.F32 = t.Float64s(), nil
	}
	return t
}

// wide returns t if its values are in Data, else a copy of t with them
// widened into Data; t is not changed.
func (t *Tensor) wide() *Tensor {
	if t.F32 == nil {
		return t
	}
	w := *t
	w.Data, w.F32 = t.Float64s(), nil
	return &w
}

// HasSym reports whether any element stands for the batch size.
func (t *Tensor) HasSym() bool {
	for _, s := range t.Sym {
		if s {
			return true
		}
	}
	return false
}

// NewTensor returns a float tensor of the given shape, zero-filled.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float64, prod(shape))}
}

// Value is an edge of the graph: the graph input, a constant, or a node output.
type Value struct {
	Name     string
	Shape    Shape
	Const    *Tensor // non-nil for constants
	Producer *Node   // nil for the input and constants
}

// IsConst reports whether v is a constant.
func (v *Value) IsConst() bool { return v.Const != nil }

// Node applies an Op to its inputs.
type Node struct {
	Name   string // unique within the graph; the ONNX node name where it had one
	Op     Op
	Inputs []*Value
	Output *Value
	Source string // the ONNX op type this node came from (for messages and inspect)
}

// OutputKind says what the model's ONNX output was.
type OutputKind string

// Output kinds. A final Softmax or LogSoftmax is set aside at import, so the
// graph's output is always the tensor before it.
const (
	OutputLogits           OutputKind = "logits"
	OutputProbabilities    OutputKind = "probabilities"
	OutputLogProbabilities OutputKind = "log_probabilities"
)

// Graph is a validated classifier: one dynamic input with a Batch dimension,
// one output of shape [N×K], nodes in topological order.
type Graph struct {
	Input      *Value
	Output     *Value
	Nodes      []*Node
	OutputKind OutputKind
	Classes    int
	// Notes records rewrites made at import that a user should know about
	// (a batch size of 1 baked into a Reshape, a Softmax head set aside).
	Notes []string
}

// Errors of this package. Errors returned by FromONNX wrap one of them.
var (
	// ErrUnsupported reports a valid model that uses an op in a way
	// advcheck does not handle (a mode, an attribute, a batch-mixing axis).
	ErrUnsupported = errors.New("unsupported model")
	// ErrUnsupportedOp reports a valid model with ops advcheck lacks; the
	// error is an *UnsupportedOpsError listing all of them.
	ErrUnsupportedOp = errors.New("unsupported ONNX op")
	// ErrInvalid reports a model that breaks the ONNX rules.
	ErrInvalid = errors.New("invalid model")
	// ErrLimit reports a model that would make import allocate more than
	// its Limits allow.
	ErrLimit = errors.New("model exceeds a limit")
)

// UnsupportedOp is one ONNX op type a model uses that advcheck lacks.
type UnsupportedOp struct {
	OpType string
	Domain string // "" for the default domain
	Count  int    // nodes of this type in the graph
	First  string // the first such node's name, or #index when it has none
}

// UnsupportedOpsError lists every op of a model that advcheck lacks, in the
// order of their first node. It wraps ErrUnsupportedOp.
type UnsupportedOpsError struct {
	Ops []UnsupportedOp
}

func (e *UnsupportedOpsError) Error() string {
	var b strings.Builder
	b.WriteString("advcheck does not support op")
	if len(e.Ops) > 1 {
		b.WriteString("s")
	}
	for i, op := range e.Ops {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" ")
		if op.Domain != "" && op.Domain != "ai.onnx" {
			b.WriteString(op.Domain + ".")
		}
		b.WriteString(op.OpType)
		if op.Count == 1 {
			fmt.Fprintf(&b, " (node %q)", op.First)
		} else {
			fmt.Fprintf(&b, " (%d nodes, first %q)", op.Count, op.First)
		}
	}
	b.WriteString(" yet (docs/ops.md lists the supported ops)")
	return b.String()
}

func (e *UnsupportedOpsError) Unwrap() error { return ErrUnsupportedOp }

func errorf(base error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", base, fmt.Sprintf(format, args...))
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}
