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

// Tensor is a constant: float64 values in C order. Integer tensors (shape
// computations) hold exact integers; Sym marks entries that stand for the
// symbolic batch size (only shape computations carry them).
type Tensor struct {
	Shape []int
	Data  []float64
	Int   bool   // the ONNX type was an integer or bool type
	Sym   []bool // nil, or one flag per element: the element is the batch size
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

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
	ErrUnsupported = errors.New("unsupported model")
	ErrInvalid     = errors.New("invalid model")
)

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
