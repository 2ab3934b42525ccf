package ir

import (
	"fmt"
	"sort"

	"github.com/advcheck/advcheck/models/onnx"
)

// opImport converts one ONNX node of the default domain into IR values.
// name labels the node in messages and in the IR.
type opImport func(im *importer, n *onnx.Node, name string) (*Value, error)

// opEntry is one row of the importer's op table.
type opEntry struct {
	since int64 // the first default-opset version that defines the op
	conv  opImport
	note  string // what is supported, for docs/ops.md
}

// opTable is the whole set of ONNX ops the importer reads: convert
// dispatches through it, check refuses ops missing from it, and docs/ops.md
// is generated from it, so the three cannot disagree.
var opTable = map[string]opEntry{
	"Identity": {1, passThrough, "passes its input through"},
	"Dropout":  {1, passThrough, "inference: passes its input through; the mask output cannot be used"},
	"Constant": {1, noName((*importer).constant), "attributes value, value_float(s), value_int(s)"},
	"Cast":     {1, noName((*importer).cast), "constants: any numeric type; activations: float types only"},

	"Conv":               {1, (*importer).conv, "2-D; constant weights and bias; strides, dilations, pads, auto_pad, group"},
	"BatchNormalization": {1, (*importer).batchNorm, "inference mode, constant statistics; folded into a preceding Conv"},
	"MaxPool":            {1, (*importer).pool, "2-D; strides, dilations, pads smaller than the kernel, auto_pad, ceil_mode; the Indices output cannot be used"},
	"AveragePool":        {1, (*importer).pool, "2-D; strides, pads smaller than the kernel, auto_pad, ceil_mode, count_include_pad"},
	"GlobalAveragePool":  {1, globalAvgPool, "N×C×H×W input"},
	"GlobalMaxPool":      {1, globalMaxPool, "N×C×H×W input"},
	"Pad":                {2, (*importer).pad, "constant mode; constant, non-negative pads (and axes), none along the batch axis"},

	"Gemm":   {1, (*importer).gemm, "alpha, beta, transA, transB"},
	"MatMul": {1, (*importer).matmul, "NumPy semantics; no product over the batch axis"},
	"Add":    {1, binary(Add), "NumPy broadcasting"},
	"Sub":    {1, binary(Sub), "NumPy broadcasting"},
	"Mul":    {1, binary(Mul), "NumPy broadcasting"},
	"Div":    {1, binary(Div), "NumPy broadcasting"},
	"Sum":    {1, sum, "1 to 64 inputs, NumPy broadcasting"},

	"Relu":        {1, (*importer).unary, "elementwise"},
	"LeakyRelu":   {1, (*importer).unary, "alpha"},
	"Sigmoid":     {1, (*importer).unary, "elementwise"},
	"Tanh":        {1, (*importer).unary, "elementwise"},
	"Abs":         {1, (*importer).unary, "elementwise"},
	"Neg":         {1, (*importer).unary, "elementwise"},
	"Exp":         {1, (*importer).unary, "elementwise"},
	"Elu":         {1, (*importer).unary, "alpha"},
	"Softplus":    {1, (*importer).unary, "elementwise"},
	"Erf":         {9, (*importer).unary, "elementwise"},
	"Clip":        {1, (*importer).unary, "min and max as attributes (opset < 11) or scalar constant inputs"},
	"HardSigmoid": {1, (*importer).unary, "alpha, beta"},
	"HardSwish":   {14, (*importer).unary, "elementwise"},
	"Gelu":        {20, (*importer).unary, "approximate none or tanh. The x·(Erf(x/√2) + 1)·0.5 pattern of earlier exports is fused into the same op"},
	"Sqrt":        {1, (*importer).unary, "elementwise"},
	"Pow":         {1, (*importer).unary, "constant scalar exponent"},

	"Softmax":            {1, (*importer).softmax, "axis not the batch; a final Softmax is set aside (output kind probabilities)"},
	"LogSoftmax":         {1, (*importer).softmax, "axis not the batch; a final LogSoftmax is set aside (output kind log_probabilities)"},
	"ReduceMean":         {1, (*importer).reduce, "axes (attribute, or constant input from opset 18), keepdims, noop_with_empty_axes; not over the batch axis"},
	"LayerNormalization": {17, (*importer).layerNorm, "axis not the batch; constant scale and bias; the saved statistics outputs cannot be used. The ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div pattern of earlier exports is fused into the same op"},
	"ReduceMax":          {1, (*importer).reduce, "axes (attribute, or constant input from opset 18), keepdims, noop_with_empty_axes; not over the batch axis; the gradient goes to the first maximum"},
	"ReduceMin":          {1, (*importer).reduce, "axes (attribute, or constant input from opset 18), keepdims, noop_with_empty_axes; not over the batch axis; the gradient goes to the first minimum"},
	"ReduceSum":          {1, (*importer).reduce, "axes (attribute, or constant input from opset 13), keepdims, noop_with_empty_axes; not over the batch axis"},

	"Flatten":         {1, (*importer).flatten, "axis; the batch is not merged with other dimensions"},
	"Reshape":         {5, (*importer).reshape, "constant shape with 0 and -1, allowzero; a leading 1 is read as the batch; the batch may be merged with neighbouring axes (attention heads, windows) when samples stay apart"},
	"Transpose":       {1, (*importer).transpose, "perm"},
	"Concat":          {4, (*importer).concat, "not along the batch axis; a constant expanded to the batch size is broadcast"},
	"Equal":           {1, (*importer).equal, "constants only (shape computations; the batch size equals no value below 1); folded"},
	"Not":             {1, (*importer).not, "constants only; folded"},
	"Mod":             {10, (*importer).mod, "constants only, fmod 0 or 1; folded"},
	"Where":           {9, (*importer).where, "constant condition; folded on constants, a masked select on activations"},
	"Split":           {2, (*importer).split, "not along the batch axis; sizes as attribute (opset < 13) or constant input, or equal parts"},
	"ScatterND":       {11, (*importer).scatterND, "constants only; reduction none, add or mul; folded"},
	"Squeeze":         {1, (*importer).squeeze, "axes as attribute (opset < 13) or constant input"},
	"Unsqueeze":       {1, (*importer).squeeze, "axes as attribute (opset < 13) or constant input"},
	"Slice":           {1, (*importer).slice, "constant starts, ends, axes, steps; the batch axis is kept whole"},
	"Shape":           {1, noName((*importer).shape), "start and end; folded to a constant (the batch size stays symbolic)"},
	"Gather":          {1, (*importer).gather, "constant indices; on constants folded, on activations along an axis other than the batch (x[:, 0], q, k, v = qkv[0], qkv[1], qkv[2])"},
	"ConstantOfShape": {9, noName((*importer).constantOfShape), "constant shape without the batch size; folded"},
	"Expand":          {8, (*importer).expand, "constant shape; folded on a constant, which may be expanded to the batch size (class tokens) for Concat and arithmetic to broadcast; on activations as a broadcast"},
	"Tile":            {6, (*importer).tile, "constant repeats; folded on a constant; on activations a broadcast between reshapes, repeats of 1 along the batch axis"},
	"Einsum":          {12, (*importer).einsum, "one or two operands without ellipsis or repeated letters; lowered to Transpose, Reshape and a batched MatMul (\"bhqd,bhkd->bhqk\", \"bhqk,bhkd->bhqd\", \"bij,bjk->bik\", \"ij,bjk->bik\", \"bnc,cd->bnd\", transposes); a letter summed out of one operand, sizes that broadcast, or a sum over the batch axis are refused"},
	"Range":           {11, (*importer).rangeOp, "constant scalar start, limit and delta only; folded"},
}

// noName adapts a conversion that needs no node label.
func noName(f func(*importer, *onnx.Node) (*Value, error)) opImport {
	return func(im *importer, n *onnx.Node, _ string) (*Value, error) { return f(im, n) }
}

func passThrough(im *importer, n *onnx.Node, name string) (*Value, error) {
	in, err := im.weightInputs(n, 1, 3, 0) // passed on: its readers widen it if they compute with it
	if err != nil {
		return nil, err
	}
	for _, extra := range n.Outputs[1:] {
		im.poison[extra] = fmt.Sprintf("the mask output of %s %q is not supported", n.OpType, name)
	}
	return in[0], nil
}

func binary(kind BinaryKind) opImport {
	return func(im *importer, n *onnx.Node, name string) (*Value, error) {
		in, err := im.inputs(n, 2, 2)
		if err != nil {
			return nil, err
		}
		if kind == Mul || kind == Div {
			if v, err := im.symArith(n, in); v != nil || err != nil {
				return v, err
			}
		}
		return im.add(name, n.OpType, Binary{kind}, nil, in[0], in[1])
	}
}

func sum(im *importer, n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 64)
	if err != nil {
		return nil, err
	}
	out := in[0]
	for i, v := range in[1:] {
		if out, err = im.add(fmt.Sprintf("%s/%d", name, i), n.OpType, Binary{Add}, nil, out, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func globalAvgPool(im *importer, n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	return im.add(name, n.OpType, GlobalAvgPool{}, nil, in[0])
}

func globalMaxPool(im *importer, n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape
	if len(s) != 4 {
		return nil, errorf(ErrUnsupported, "GlobalMaxPool of %v", s)
	}
	op := Pool{Max: true, Kernel: [2]int{s[2], s[3]}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}}
	return im.add(name, n.OpType, op, nil, in[0])
}

// OpSupport describes one ONNX op that advcheck imports.
type OpSupport struct {
	OpType             string
	MinOpset, MaxOpset int64 // the default-opset versions accepted for it
	Note               string
}

// SupportedOps lists the ONNX ops of the default domain that the importer
// reads, sorted by name.
func SupportedOps() []OpSupport {
	lim := onnx.DefaultLimits()
	out := make([]OpSupport, 0, len(opTable))
	for name, e := range opTable {
		out = append(out, OpSupport{OpType: name, MinOpset: max(e.since, lim.MinOpset), MaxOpset: lim.MaxOpset, Note: e.note})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OpType < out[j].OpType })
	return out
}
