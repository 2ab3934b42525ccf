package ir

// Builder assembles a Graph op by op, with the same shape inference, constant
// folding and validation as the ONNX importer. Tests use it to build one-op
// graphs; it is also the way to make a model without an ONNX file.
type Builder struct {
	im    *importer
	input *Value
}

// NewBuilder starts a graph whose input has the given shape (with Batch).
func NewBuilder(inputName string, shape Shape) *Builder {
	im := newImporter(21, DefaultLimits())
	in := &Value{Name: inputName, Shape: shape.Clone()}
	return &Builder{im: im, input: in}
}

// Input returns the graph input.
func (b *Builder) Input() *Value { return b.input }

// Const returns a constant value.
func (b *Builder) Const(name string, t *Tensor) *Value { return constValue(name, t) }

// Add applies op to the inputs. out is the output shape for Reshape and must
// be nil for every other op.
func (b *Builder) Add(name string, op Op, out Shape, in ...*Value) (*Value, error) {
	return b.im.add(name, op.Kind(), op, out, in...)
}

// Finish returns the graph computing output, after the same passes as an
// import (Softmax head, affine folding, pruning, validation).
func (b *Builder) Finish(output *Value) (*Graph, error) {
	g := &Graph{Input: b.input, Output: output, Nodes: b.im.nodes, OutputKind: OutputLogits, Notes: b.im.notes}
	if err := g.finish(); err != nil {
		return nil, err
	}
	return g, nil
}
