package ir

import "fmt"

// Op is the operation of a Node. The concrete types below are the whole op
// set of the IR: the importer canonicalises every supported ONNX op into them.
type Op interface {
	// Kind is the op's name, e.g. "Conv".
	Kind() string
}

// Conv is a 2-D convolution with groups. Inputs: x [N×C×H×W], W [M×C/Group×KH×KW]
// (constant), optional bias [M] (constant). Pads are top, left, bottom, right.
type Conv struct {
	Kernel    [2]int
	Strides   [2]int
	Dilations [2]int
	Pads      [4]int
	Group     int
}

// Pool is a 2-D max or average pooling over x [N×C×H×W]. Pads are top, left,
// bottom, right. With CeilMode the output size rounds up, as PyTorch does: a
// window that would start in the bottom or right padding is dropped.
type Pool struct {
	Max             bool
	Kernel          [2]int
	Strides         [2]int
	Dilations       [2]int
	Pads            [4]int
	CeilMode        bool
	CountIncludePad bool // average only: divide by the window size including padding
}

// GlobalAvgPool averages x [N×C×H×W] over H and W into [N×C×1×1].
type GlobalAvgPool struct{}

// Pad pads with a constant: Begin[i] and End[i] elements before and after axis i.
type Pad struct {
	Begin, End []int
	Value      float64
}

// Dense is x·W + b for x [...×K], W [K×M] (constant), optional b [M] (constant).
type Dense struct{}

// MatMul is NumPy's matmul of two inputs, at least one of them dynamic.
type MatMul struct{}

// BinaryKind is an elementwise arithmetic operation.
type BinaryKind int

// Binary kinds.
const (
	Add BinaryKind = iota
	Sub
	Mul
	Div
)

func (k BinaryKind) String() string { return [...]string{"Add", "Sub", "Mul", "Div"}[k] }

// Binary is an elementwise operation with multidirectional (NumPy) broadcasting.
type Binary struct{ Op BinaryKind }

// UnaryKind is an elementwise function.
type UnaryKind int

// Unary kinds.
const (
	Relu UnaryKind = iota
	LeakyRelu
	Sigmoid
	Tanh
	Clip
	Abs
	Neg
	Exp
	Elu
	Softplus
	Erf
	HardSigmoid
	HardSwish
	Gelu
	GeluTanh
	Pow
	Sqrt
)

func (k UnaryKind) String() string {
	return [...]string{"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Abs", "Neg", "Exp", "Elu", "Softplus", "Erf",
		"HardSigmoid", "HardSwish", "Gelu", "GeluTanh", "Pow", "Sqrt"}[k]
}

// Unary applies an elementwise function. Alpha is LeakyRelu's slope, Elu's
// and HardSigmoid's alpha, and Pow's constant exponent; Beta is HardSigmoid's
// beta; Min and Max are Clip's bounds (±Inf when absent).
type Unary struct {
	Func     UnaryKind
	Alpha    float64
	Beta     float64
	Min, Max float64
}

// Softmax is softmax (or log-softmax) over one axis.
type Softmax struct {
	Axis int
	Log  bool
}

// Reshape copies its input into the shape of its output value.
type Reshape struct{}

// Transpose permutes axes: output axis i is input axis Perm[i].
type Transpose struct{ Perm []int }

// Concat joins its inputs along Axis.
type Concat struct{ Axis int }

// Slice takes Starts[i]:Ends[i]:Steps[i] along each axis i (normalised: in
// range, Steps > 0 or < 0 as in NumPy).
type Slice struct{ Starts, Ends, Steps []int }

// Reduce sums or averages over Axes.
type Reduce struct {
	Mean     bool
	Axes     []int
	KeepDims bool
}

func (Conv) Kind() string          { return "Conv" }
func (p Pool) Kind() string        { return map[bool]string{true: "MaxPool", false: "AveragePool"}[p.Max] }
func (GlobalAvgPool) Kind() string { return "GlobalAveragePool" }
func (Pad) Kind() string           { return "Pad" }
func (Dense) Kind() string         { return "Dense" }
func (MatMul) Kind() string        { return "MatMul" }
func (b Binary) Kind() string      { return b.Op.String() }
func (u Unary) Kind() string       { return u.Func.String() }
func (s Softmax) Kind() string     { return map[bool]string{true: "LogSoftmax", false: "Softmax"}[s.Log] }
func (Reshape) Kind() string       { return "Reshape" }
func (Transpose) Kind() string     { return "Transpose" }
func (Concat) Kind() string        { return "Concat" }
func (Slice) Kind() string         { return "Slice" }
func (r Reduce) Kind() string      { return map[bool]string{true: "ReduceMean", false: "ReduceSum"}[r.Mean] }

// Describe returns a one-line description of an op's attributes, for messages
// and for hashing (two ops with equal descriptions compute the same function
// of the same inputs).
func Describe(op Op) string { return fmt.Sprintf("%s%+v", op.Kind(), op) }
