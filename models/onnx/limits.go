package onnx

// Limits bound what a model file can make the decoder allocate. Every limit is
// checked before the memory it guards is allocated. A zero (or negative)
// field takes its value from DefaultLimits, so Limits{} is the default.
type Limits struct {
	// MaxBytes is the largest model file, in bytes.
	MaxBytes int64

	// MaxTensorElements bounds the elements of one tensor: the product of
	// its dims and the number of values it stores. The value lists of an
	// attribute (ints, floats, strings) count as a tensor.
	MaxTensorElements int64

	// MaxTotalElements bounds the sum of the elements of all tensors and
	// attribute value lists in the model, subgraphs included.
	MaxTotalElements int64

	// MaxNodes bounds the number of nodes, subgraphs included.
	MaxNodes int

	// MaxDepth bounds the nesting of graphs: the main graph is level 1, a
	// graph held by an attribute of one of its nodes (the branches of an If,
	// the body of a Loop) is level 2, and so on. The nesting of the other
	// messages is fixed by the format, so this bounds it too. Values above
	// 1000 count as 1000.
	MaxDepth int

	// MinOpset and MaxOpset bound the version of the default operator set
	// ("" or "ai.onnx") that the model must import.
	MinOpset, MaxOpset int64

	// MaxDims bounds the rank of tensors and of declared shapes.
	MaxDims int

	// MaxItems bounds the number of decoded items in all: graphs, nodes,
	// node inputs and outputs, attributes, tensors, value infos, shape
	// dimensions, opset imports and metadata entries. Each costs tens to
	// hundreds of bytes but can be written in two, so this keeps a small
	// file full of empty entries from claiming a lot of memory.
	MaxItems int
}

// DefaultLimits returns the limits used when a field of Limits is zero:
//
//	MaxBytes          512 MiB
//	MaxTensorElements 1<<28
//	MaxTotalElements  1<<29
//	MaxNodes          100000
//	MaxDepth          8
//	MinOpset          7
//	MaxOpset          21
//	MaxDims           8
//	MaxItems          1<<22
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:          512 << 20,
		MaxTensorElements: 1 << 28,
		MaxTotalElements:  1 << 29,
		MaxNodes:          100000,
		MaxDepth:          8,
		MinOpset:          7,
		MaxOpset:          21,
		MaxDims:           8,
		MaxItems:          1 << 22,
	}
}

// maxDepthCap keeps the recursion of the decoder far from the goroutine
// stack limit whatever MaxDepth asks for.
const maxDepthCap = 1000

// orDefault fills the zero fields of l from DefaultLimits.
func (l Limits) orDefault() Limits {
	def := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = def.MaxBytes
	}
	if l.MaxTensorElements <= 0 {
		l.MaxTensorElements = def.MaxTensorElements
	}
	if l.MaxTotalElements <= 0 {
		l.MaxTotalElements = def.MaxTotalElements
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = def.MaxNodes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = def.MaxDepth
	}
	l.MaxDepth = min(l.MaxDepth, maxDepthCap)
	if l.MinOpset <= 0 {
		l.MinOpset = def.MinOpset
	}
	if l.MaxOpset <= 0 {
		l.MaxOpset = def.MaxOpset
	}
	if l.MaxDims <= 0 {
		l.MaxDims = def.MaxDims
	}
	if l.MaxItems <= 0 {
		l.MaxItems = def.MaxItems
	}
	return l
}
