package ir

import (
	"fmt"
	"math"
	"slices"

	"github.com/advcheck/advcheck/models/onnx"
)

// FromONNX converts a decoded ONNX model into a validated Graph: shapes are
// inferred with a symbolic batch dimension, constant subgraphs (including the
// Shape→Gather→Unsqueeze→Concat chains PyTorch emits for x.view(x.size(0), -1))
// are folded, BatchNormalization and other per-channel affine maps that follow
// a convolution are folded into it, a final Softmax or LogSoftmax is set aside,
// and nodes that do not contribute to the output are dropped.
//
// Every constant that import creates is checked against lim before it is
// allocated (see Limits); errors wrap ErrInvalid, ErrUnsupported,
// ErrUnsupportedOp (an *UnsupportedOpsError naming every op advcheck lacks)
// or ErrLimit.
func FromONNX(m *onnx.Model, lim Limits) (*Graph, error) {
	if m.Graph == nil {
		return nil, errorf(ErrInvalid, "the model has no graph")
	}
	opset, ok := m.OpsetVersion("")
	if !ok {
		return nil, errorf(ErrInvalid, "the model does not import the default ONNX operator set")
	}
	im := newImporter(opset, lim)
	g, err := im.run(m.Graph)
	if err != nil {
		return nil, err
	}
	return g, nil
}

type importer struct {
	opset  int64
	lim    Limits
	vals   map[string]*Value
	poison map[string]string // outputs that cannot be used, with the reason
	names  map[string]bool
	nodes  []*Node
	notes  []string
	cur    *onnx.Node // the node being converted, for messages
	total  int        // activation elements per sample so far
	folded int        // elements of the constants folded so far
	stored int        // elements of the constants stored in the file

	gemmWeights map[gemmKey]*Tensor // transformed Gemm weights, shared between nodes

	// deferred holds the initializers read only as transposed Gemm
	// weights, whose values have not been read: their tensors have a
	// Shape but neither Data nor F32 until load reads them. Gemm reads
	// them transposed straight from the file (see gemmWeight), so that a
	// large classifier matrix is not held both as stored and transposed.
	deferred map[*Tensor]*onnx.Tensor

	// bcast holds constants expanded to a batch-sized shape, with the
	// Expand node's name: their batch axis has size 1.
	bcast map[*Value]string

	// merged holds the tensors whose batch axis the model merged with
	// other axes, kept unmerged in the IR (see import_merged.go).
	merged map[*Value][]int
}

func newImporter(opset int64, lim Limits) *importer {
	return &importer{opset: opset, lim: lim.capped(), vals: map[string]*Value{}, poison: map[string]string{}, names: map[string]bool{},
		gemmWeights: map[gemmKey]*Tensor{}, bcast: map[*Value]string{}, merged: map[*Value][]int{}, deferred: map[*Tensor]*onnx.Tensor{}}
}

func (im *importer) run(og *onnx.Graph) (*Graph, error) {
	transposed := transposedGemmWeights(og)
	for _, t := range og.Initializers {
		var v *Value
		var err error
		if transposed[t.Name] {
			v, err = im.deferTensor(t)
		} else {
			v, err = constFromTensor(t)
		}
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		im.vals[t.Name] = v
		im.stored += prod(v.Const.Shape)
	}
	var input *Value
	for _, vi := range og.Inputs {
		if _, isInit := im.vals[vi.Name]; isInit {
			continue
		}
		if input != nil {
			return nil, errorf(ErrUnsupported, "the model has more than one input (%q, %q); advcheck attacks single-input image classifiers", input.Name, vi.Name)
		}
		v, err := inputValue(vi)
		if err != nil {
			return nil, err
		}
		input = v
		im.vals[vi.Name] = v
	}
	if input == nil {
		return nil, errorf(ErrInvalid, "the model has no input that is not an initializer")
	}
	if err := im.check(og); err != nil {
		return nil, err
	}
	for i, n := range og.Nodes {
		im.cur = n
		if err := im.convert(i, n); err != nil {
			return nil, fmt.Errorf("node %q (%s, opset %d): %w", nodeLabel(i, n), n.OpType, im.opset, err)
		}
	}
	im.cur = nil
	if len(og.Outputs) != 1 {
		return nil, errorf(ErrUnsupported, "the model has %d outputs; advcheck needs exactly one (the class scores)", len(og.Outputs))
	}
	out, err := im.value(og.Outputs[0].Name)
	if err != nil {
		return nil, fmt.Errorf("graph output: %w", err)
	}
	if out.IsConst() {
		return nil, errorf(ErrInvalid, "the output %q does not depend on the input", out.Name)
	}
	if im.groups(out) != nil {
		return nil, errorf(ErrUnsupported, "the output %q is %s: its batch axis is merged with others", out.Name, im.onnxShapeString(out))
	}
	if err := checkDeclared(og.Outputs[0], out.Shape); err != nil {
		return nil, err
	}
	for _, n := range im.nodes {
		for _, v := range n.Inputs {
			if err := im.load(v); err != nil { // none is left unread; this is a safeguard
				return nil, err
			}
		}
	}
	g := &Graph{Input: input, Output: out, Nodes: im.nodes, OutputKind: OutputLogits, Notes: im.notes}
	if err := g.finish(); err != nil {
		return nil, err
	}
	return g, nil
}

// checkDeclared refuses an output whose computed shape contradicts the
// shape the graph declares for it: the class count a report states must be
// the one the file says. Symbolic and unknown dimensions, and the batch
// axis (often declared as a fixed 1), are not compared.
func checkDeclared(vi *onnx.ValueInfo, got Shape) error {
	if !vi.HasShape {
		return nil
	}
	if len(vi.Dims) != len(got) {
		return errorf(ErrInvalid, "the graph declares output %q with rank %d, but its nodes compute %v", vi.Name, len(vi.Dims), got)
	}
	for i, d := range vi.Dims {
		if d.Known && got[i] != Batch && int64(got[i]) != d.Value {
			return errorf(ErrInvalid, "the graph declares output %q with dimension %d of size %d, but its nodes compute %v", vi.Name, i, d.Value, got)
		}
	}
	return nil
}

func nodeLabel(i int, n *onnx.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return fmt.Sprintf("#%d", i)
}

func inputValue(vi *onnx.ValueInfo) (*Value, error) {
	if vi.ElemType != onnx.Float && vi.ElemType != onnx.Double && vi.ElemType != onnx.Undefined {
		return nil, errorf(ErrUnsupported, "input %q has element type %d; advcheck needs a float input", vi.Name, vi.ElemType)
	}
	if !vi.HasShape || len(vi.Dims) < 2 {
		return nil, errorf(ErrUnsupported, "input %q needs a declared shape of rank ≥ 2 (batch first)", vi.Name)
	}
	s := Shape{Batch}
	for i, d := range vi.Dims[1:] {
		if !d.Known || d.Value <= 0 {
			return nil, errorf(ErrUnsupported, "input %q dimension %d is %q, not a fixed size; advcheck needs fixed image sizes", vi.Name, i+1, d.Param)
		}
		if d.Value > 1<<24 {
			return nil, errorf(ErrInvalid, "input %q dimension %d is %d", vi.Name, i+1, d.Value)
		}
		s = append(s, int(d.Value))
	}
	if s.PerSample() > 1<<26 {
		return nil, errorf(ErrUnsupported, "input %q has %d values per sample", vi.Name, s.PerSample())
	}
	return &Value{Name: vi.Name, Shape: s}, nil
}

// transposedGemmWeights returns the float32 matrices among og's
// initializers that every reader reads as a Gemm's B with transB: Gemm
// reads them transposed, and nothing reads them as stored.
func transposedGemmWeights(og *onnx.Graph) map[string]bool {
	out := map[string]bool{}
	for _, t := range og.Initializers {
		if t.DataType == onnx.Float && len(t.Dims) == 2 {
			out[t.Name] = true
		}
	}
	for _, n := range og.Nodes {
		for i, in := range n.Inputs {
			if i != 1 || n.OpType != "Gemm" || n.Domain != "" && n.Domain != "ai.onnx" || attrInt(n, "transB", 0) == 0 {
				delete(out, in)
			}
		}
	}
	for _, vi := range og.Outputs {
		delete(out, vi.Name)
	}
	return out
}

// deferTensor checks a float32 initializer as constFromTensor does, reading
// it in pieces, and returns its value without reading its values into
// memory (see importer.deferred).
func (im *importer) deferTensor(t *onnx.Tensor) (*Value, error) {
	shape, err := tensorShape(t)
	if err != nil {
		return nil, err
	}
	if err := t.ReadFloat32s(nil, 0); err != nil { // the storage, even of no elements
		return nil, err
	}
	n := prod(shape)
	buf := make([]float32, min(n, 1<<16))
	for off := 0; off < n; off += len(buf) {
		part := buf[:min(len(buf), n-off)]
		if err := t.ReadFloat32s(part, int64(off)); err != nil {
			return nil, err
		}
		if err := checkFinite(t.Name, part, off); err != nil {
			return nil, err
		}
	}
	c := &Tensor{Shape: shape}
	im.deferred[c] = t
	return &Value{Name: t.Name, Shape: Shape(shape).Clone(), Const: c}, nil
}

// load reads the values of v if it is a deferred initializer.
func (im *importer) load(v *Value) error {
	if v == nil || !v.IsConst() {
		return nil
	}
	src, ok := im.deferred[v.Const]
	if !ok {
		return nil
	}
	d, err := src.Float32s()
	if err != nil {
		return fmt.Errorf("initializer %q: %w", src.Name, err)
	}
	v.Const.F32 = d
	delete(im.deferred, v.Const)
	return nil
}

func constFromTensor(t *onnx.Tensor) (*Value, error) {
	c, err := tensorData(t)
	if err != nil {
		return nil, err
	}
	return &Value{Name: t.Name, Shape: Shape(c.Shape).Clone(), Const: c}, nil
}

// tensorShape returns t's dimensions, refusing negative and huge ones.
func tensorShape(t *onnx.Tensor) ([]int, error) {
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		if d < 0 || d > math.MaxInt32 {
			return nil, errorf(ErrInvalid, "dimension %d of %q", d, t.Name)
		}
		shape[i] = int(d)
	}
	return shape, nil
}

// checkFinite refuses NaN and ±Inf among the values d of tensor name, d[0]
// being its element off.
func checkFinite[T float32 | float64](name string, d []T, off int) error {
	for i, v := range d {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return errorf(ErrInvalid, "tensor %q holds %v at element %d", name, f, off+i)
		}
	}
	return nil
}

func tensorData(t *onnx.Tensor) (*Tensor, error) {
	shape, err := tensorShape(t)
	if err != nil {
		return nil, err
	}
	c := &Tensor{Shape: shape}
	switch t.DataType {
	case onnx.Float:
		// Held as stored: widened only where import computes with it.
		d, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		if err := checkFinite(t.Name, d, 0); err != nil {
			return nil, err
		}
		c.F32 = d
	case onnx.Double, onnx.Float16:
		d, err := t.Float64s()
		if err != nil {
			return nil, err
		}
		if err := checkFinite(t.Name, d, 0); err != nil {
			return nil, err
		}
		c.Data = d
	case onnx.Int64, onnx.Int32, onnx.Int16, onnx.Int8, onnx.Uint8, onnx.Uint16, onnx.Uint32, onnx.Uint64, onnx.Bool:
		d, err := t.Float64s()
		if err != nil {
			return nil, err
		}
		c.Data, c.Int = d, true
	default:
		return nil, errorf(ErrUnsupported, "tensor %q has element type %d", t.Name, t.DataType)
	}
	if c.Len() != prod(shape) {
		return nil, errorf(ErrInvalid, "tensor %q has %d values for shape %v", t.Name, c.Len(), shape)
	}
	return c, nil
}

// value looks up an input by name.
func (im *importer) value(name string) (*Value, error) {
	if why, bad := im.poison[name]; bad {
		return nil, errorf(ErrUnsupported, "%s", why)
	}
	v, ok := im.vals[name]
	if !ok {
		return nil, errorf(ErrInvalid, "value %q is used before it is defined", name)
	}
	return v, nil
}

// inputs resolves a node's inputs; omitted optional inputs are nil.
// Constants are widened to float64 (see Tensor), as the conversions compute
// with them; see weightInputs for those that pass a weight on unchanged.
func (im *importer) inputs(n *onnx.Node, min, max int) ([]*Value, error) {
	return im.weightInputs(n, min, max, -1)
}

// weightInputs is inputs, except that input keep, if a constant, is left as
// it is stored: a Conv, Gemm or MatMul weight, which the engine reads in
// float32 and import only passes on (or transposes, which is exact).
func (im *importer) weightInputs(n *onnx.Node, min, max, keep int) ([]*Value, error) {
	if len(n.Inputs) < min || len(n.Inputs) > max {
		return nil, errorf(ErrInvalid, "%d inputs, want %d to %d", len(n.Inputs), min, max)
	}
	vs := make([]*Value, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			if i < min {
				return nil, errorf(ErrInvalid, "input %d is required", i)
			}
			continue
		}
		v, err := im.value(name)
		if err != nil {
			return nil, err
		}
		if i != keep || n.OpType != "Gemm" {
			// Only gemmWeight reads a deferred initializer unread.
			if err := im.load(v); err != nil {
				return nil, err
			}
		}
		if v.IsConst() && i != keep {
			v.Const.Widen()
		}
		vs[i] = v
	}
	return vs, nil
}

// uniqueName returns a node name not used before.
func (im *importer) uniqueName(base string) string {
	name := base
	for i := 2; im.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	im.names[name] = true
	return name
}

// add applies op to inputs: folded into a constant when every input is one,
// else appended as a node. out is the output shape for Reshape; nil otherwise.
func (im *importer) add(name, source string, op Op, out Shape, in ...*Value) (*Value, error) {
	shapes := make([]Shape, len(in))
	allConst := true
	for i, v := range in {
		shapes[i] = v.Shape
		allConst = allConst && v.IsConst()
	}
	if out == nil {
		var err error
		if out, err = inferShape(op, shapes); err != nil {
			return nil, err
		}
	}
	if allConst {
		// The limits are checked on the shape, before evalOp allocates.
		if err := im.reserve("the folded "+op.Kind(), out); err != nil {
			return nil, err
		}
		if c := foldCost(op, shapes, out); c > maxFoldCost {
			return nil, errorf(ErrLimit, "folding the constant %s would take %d operations", op.Kind(), c)
		}
		ts := make([]*Tensor, len(in))
		for i, v := range in {
			ts[i] = v.Const
		}
		t, err := evalOp(op, ts, out)
		if err != nil {
			return nil, err
		}
		return &Value{Name: name, Shape: out, Const: t}, nil
	}
	elems := prodSafe(out)
	if elems < 0 || int64(elems) > im.lim.MaxTensorElements {
		return nil, errorf(ErrLimit, "%s output %v has more than the limit of %d elements per sample", op.Kind(), out, im.lim.MaxTensorElements)
	}
	if im.total += elems; im.total > MaxGraphElements {
		return nil, errorf(ErrLimit, "the model's activations exceed the limit of %d elements per sample", MaxGraphElements)
	}
	if out.BatchAxis() < 0 || slices.Index(out[out.BatchAxis()+1:], Batch) >= 0 {
		return nil, errorf(ErrUnsupported, "%s output %v does not keep exactly one batch dimension", op.Kind(), out)
	}
	n := &Node{Name: im.uniqueName(name), Op: op, Inputs: in, Source: source}
	n.Output = &Value{Name: n.Name, Shape: out, Producer: n}
	im.nodes = append(im.nodes, n)
	return n.Output, nil
}

// foldCost estimates the work of evaluating op on constants.
func foldCost(op Op, in []Shape, out Shape) int {
	per := 1
	switch op := op.(type) {
	case Conv:
		per = in[1].PerSample() / max(1, in[1][0])
	case Pool:
		per = op.Kernel[0] * op.Kernel[1]
	case Dense:
		per = in[1][0]
	case MatMul:
		per = in[0][len(in[0])-1]
	case GlobalAvgPool:
		per = in[0].PerSample()
	case Reduce, ReduceMax, LayerNorm:
		per = in[0].PerSample()
	}
	n := prodSafe(out)
	if n < 0 || per < 0 || (per > 0 && n > maxFoldCost/per) {
		return maxFoldCost + 1
	}
	return n * per
}

// prodSafe is the product of the non-batch dimensions, or -1 on overflow.
func prodSafe(s Shape) int {
	p := 1
	for _, d := range s {
		if d == Batch {
			continue
		}
		if d < 0 || (d > 0 && p > (1<<40)/d) {
			return -1
		}
		p *= d
	}
	return p
}

func (im *importer) convert(idx int, n *onnx.Node) error {
	name := nodeLabel(idx, n)
	if n.Name == "" {
		name = n.OpType
	}
	if len(n.Outputs) == 0 {
		return errorf(ErrInvalid, "no outputs")
	}
	for _, in := range n.Inputs {
		if v, ok := im.vals[in]; ok && im.bcast[v] != "" && !batchBroadcastReaders[n.OpType] {
			return errorf(ErrUnsupported, "the constant that Expand %q broadcasts to the batch is read by %s, which advcheck cannot broadcast over the batch", im.bcast[v], n.OpType)
		}
	}
	e, ok := opTable[n.OpType]
	if !ok {
		// check refuses unknown ops before conversion starts; this guards
		// callers that skip it.
		return &UnsupportedOpsError{Ops: []UnsupportedOp{{OpType: n.OpType, Domain: n.Domain, Count: 1, First: name}}}
	}
	out, handled, err := im.convertMerged(n, name)
	if !handled {
		out, err = e.conv(im, n, name)
	}
	if err != nil {
		return err
	}
	if out.IsConst() && im.bcast[out] == "" {
		// A constant computed from a batch-broadcast one is one too.
		for _, in := range n.Inputs {
			if v, ok := im.vals[in]; ok && im.bcast[v] != "" {
				im.bcast[out] = im.bcast[v]
			}
		}
	}
	im.vals[n.Outputs[0]] = out
	for _, extra := range n.Outputs[1:] {
		if _, done := im.vals[extra]; done {
			continue // set by the conversion (Split)
		}
		if _, set := im.poison[extra]; !set && extra != "" {
			im.poison[extra] = fmt.Sprintf("output %d of %s %q is not supported", slices.Index(n.Outputs, extra), n.OpType, name)
		}
	}
	return nil
}

// Attribute helpers.

func attrInt(n *onnx.Node, name string, def int64) int64 {
	if a := n.Attr(name); a != nil {
		return a.I
	}
	return def
}

func attrFloat(n *onnx.Node, name string, def float64) float64 {
	if a := n.Attr(name); a != nil {
		return float64(a.F)
	}
	return def
}

func attrString(n *onnx.Node, name, def string) string {
	if a := n.Attr(name); a != nil {
		return string(a.S)
	}
	return def
}

func attrInts(n *onnx.Node, name string) ([]int, bool, error) {
	a := n.Attr(name)
	if a == nil {
		return nil, false, nil
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, true, errorf(ErrInvalid, "attribute %s value %d out of range", name, v)
		}
		out[i] = int(v)
	}
	return out, true, nil
}

// symDim stands for the batch size in integer lists read by constInts; it
// differs from every value an ONNX list can hold (-1 included).
const symDim = math.MinInt64

// constInts reads a constant integer input (axes, pads, shapes) as ints.
// Entries that stand for the batch size come back as symDim.
func constInts(v *Value, what string) ([]int, error) {
	if v == nil {
		return nil, nil
	}
	if !v.IsConst() {
		return nil, errorf(ErrUnsupported, "%s must be a constant (it depends on the input values)", what)
	}
	out := make([]int, v.Const.Len())
	for i, f := range v.Const.Float64s() {
		if v.Const.Sym != nil && v.Const.Sym[i] {
			if f != 1 {
				return nil, errorf(ErrUnsupported, "%s holds %v times the batch size", what, f)
			}
			out[i] = symDim
			continue
		}
		if f != math.Trunc(f) {
			return nil, errorf(ErrInvalid, "%s holds %v, not an integer", what, f)
		}
		switch {
		case f > math.MaxInt32:
			out[i] = math.MaxInt32
		case f < math.MinInt32:
			out[i] = math.MinInt32
		default:
			out[i] = int(f)
		}
	}
	return out, nil
}

func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, errorf(ErrInvalid, "axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// Op conversions.

func (im *importer) constant(n *onnx.Node) (*Value, error) {
	if len(n.Attrs) != 1 {
		return nil, errorf(ErrInvalid, "Constant needs exactly one attribute")
	}
	a := n.Attrs[0]
	var t *Tensor
	switch a.Name {
	case "value":
		if a.T == nil {
			return nil, errorf(ErrInvalid, "Constant value is not a tensor")
		}
		var err error
		if t, err = tensorData(a.T); err != nil {
			return nil, err
		}
	case "value_float":
		t = &Tensor{Shape: []int{}, Data: []float64{float64(a.F)}}
	case "value_floats":
		t = &Tensor{Shape: []int{len(a.Floats)}, Data: make([]float64, len(a.Floats))}
		for i, f := range a.Floats {
			t.Data[i] = float64(f)
		}
	case "value_int":
		t = &Tensor{Shape: []int{}, Data: []float64{float64(a.I)}, Int: true}
	case "value_ints":
		t = &Tensor{Shape: []int{len(a.Ints)}, Data: make([]float64, len(a.Ints)), Int: true}
		for i, v := range a.Ints {
			t.Data[i] = float64(v)
		}
	default:
		return nil, errorf(ErrUnsupported, "Constant attribute %q", a.Name)
	}
	im.stored += t.Len()
	return &Value{Name: n.Outputs[0], Shape: Shape(t.Shape).Clone(), Const: t}, nil
}

func (im *importer) cast(n *onnx.Node) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	to := onnx.DataType(attrInt(n, "to", 0))
	isFloat := to == onnx.Float || to == onnx.Double || to == onnx.Float16
	x := in[0]
	if !x.IsConst() {
		if !isFloat {
			return nil, errorf(ErrUnsupported, "Cast of the model's activations to type %d", to)
		}
		return x, nil
	}
	if err := im.reserve("Cast output", x.Const.Shape); err != nil {
		return nil, err
	}
	t := *x.Const
	t.Data, t.F32 = append([]float64(nil), x.Const.Float64s()...), nil
	t.Int = !isFloat
	if t.Int {
		for i, v := range t.Data {
			t.Data[i] = math.Trunc(v)
		}
	}
	return &Value{Name: n.Outputs[0], Shape: x.Shape.Clone(), Const: &t}, nil
}

// spatial reads the kernel-window attributes shared by Conv and the pools.
func spatial(n *onnx.Node, kernel [2]int, inShape Shape) (strides, dil [2]int, pads [4]int, err error) {
	strides, dil = [2]int{1, 1}, [2]int{1, 1}
	if s, ok, e := attrInts(n, "strides"); e != nil {
		return strides, dil, pads, e
	} else if ok {
		if len(s) != 2 {
			return strides, dil, pads, errorf(ErrUnsupported, "strides %v: only 2-D windows are supported", s)
		}
		strides = [2]int{s[0], s[1]}
	}
	if d, ok, e := attrInts(n, "dilations"); e != nil {
		return strides, dil, pads, e
	} else if ok {
		if len(d) != 2 {
			return strides, dil, pads, errorf(ErrUnsupported, "dilations %v: only 2-D windows are supported", d)
		}
		dil = [2]int{d[0], d[1]}
	}
	if p, ok, e := attrInts(n, "pads"); e != nil {
		return strides, dil, pads, e
	} else if ok {
		if len(p) != 4 {
			return strides, dil, pads, errorf(ErrUnsupported, "pads %v: only 2-D windows are supported", p)
		}
		for _, v := range p {
			if v < 0 {
				return strides, dil, pads, errorf(ErrUnsupported, "negative pads %v", p)
			}
		}
		pads = [4]int{p[0], p[1], p[2], p[3]}
	}
	for i := 0; i < 2; i++ {
		if strides[i] < 1 || dil[i] < 1 || kernel[i] < 1 {
			return strides, dil, pads, errorf(ErrInvalid, "kernel %v, strides %v and dilations %v must be positive", kernel, strides, dil)
		}
	}
	switch ap := attrString(n, "auto_pad", "NOTSET"); ap {
	case "NOTSET", "":
	case "VALID":
		pads = [4]int{}
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < 2; i++ {
			in := inShape[2+i]
			out := (in + strides[i] - 1) / strides[i]
			total := max(0, (out-1)*strides[i]+(kernel[i]-1)*dil[i]+1-in)
			small, big := total/2, total-total/2
			if ap == "SAME_UPPER" {
				pads[i], pads[i+2] = small, big
			} else {
				pads[i], pads[i+2] = big, small
			}
		}
	default:
		return strides, dil, pads, errorf(ErrUnsupported, "auto_pad %q", ap)
	}
	return strides, dil, pads, nil
}

func (im *importer) conv(n *onnx.Node, name string) (*Value, error) {
	in, err := im.weightInputs(n, 2, 3, 1)
	if err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	if !w.IsConst() {
		return nil, errorf(ErrUnsupported, "Conv weights must be constant")
	}
	if len(w.Shape) != 4 || len(x.Shape) != 4 {
		return nil, errorf(ErrUnsupported, "only 2-D convolutions are supported (input %v, weight %v)", x.Shape, w.Shape)
	}
	kernel := [2]int{w.Shape[2], w.Shape[3]}
	if k, ok, e := attrInts(n, "kernel_shape"); e != nil {
		return nil, e
	} else if ok && (len(k) != 2 || k[0] != kernel[0] || k[1] != kernel[1]) {
		return nil, errorf(ErrInvalid, "kernel_shape %v does not match the weight %v", k, w.Shape)
	}
	st, dil, pads, err := spatial(n, kernel, x.Shape)
	if err != nil {
		return nil, err
	}
	op := Conv{Kernel: kernel, Strides: st, Dilations: dil, Pads: pads, Group: int(attrInt(n, "group", 1))}
	args := []*Value{x, w}
	if len(in) > 2 && in[2] != nil {
		if !in[2].IsConst() {
			return nil, errorf(ErrUnsupported, "Conv bias must be constant")
		}
		args = append(args, in[2])
	}
	return im.add(name, "Conv", op, nil, args...)
}

// batchNorm turns inference-mode BatchNormalization into y = x·s + t with
// per-channel constants; finish folds them into a preceding Conv.
func (im *importer) batchNorm(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 5, 5)
	if err != nil {
		return nil, err
	}
	if attrInt(n, "training_mode", 0) != 0 {
		return nil, errorf(ErrUnsupported, "BatchNormalization in training mode")
	}
	eps := attrFloat(n, "epsilon", 1e-5)
	x := in[0]
	if len(x.Shape) < 2 || x.Shape.BatchAxis() != 0 {
		return nil, errorf(ErrUnsupported, "BatchNormalization of %v", x.Shape)
	}
	c := x.Shape[1]
	for i, v := range in[1:] {
		if !v.IsConst() || len(v.Const.Data) != c {
			return nil, errorf(ErrUnsupported, "BatchNormalization input %d must be a constant of %d values", i+1, c)
		}
	}
	scale, bias, mean, vr := in[1].Const.Data, in[2].Const.Data, in[3].Const.Data, in[4].Const.Data
	shape := make([]int, len(x.Shape)-1)
	for i := range shape {
		shape[i] = 1
	}
	shape[0] = c
	s, t := &Tensor{Shape: shape, Data: make([]float64, c)}, &Tensor{Shape: shape, Data: make([]float64, c)}
	for i := 0; i < c; i++ {
		if vr[i]+eps <= 0 {
			return nil, errorf(ErrInvalid, "BatchNormalization variance %v + epsilon %v is not positive", vr[i], eps)
		}
		s.Data[i] = scale[i] / math.Sqrt(vr[i]+eps)
		t.Data[i] = bias[i] - mean[i]*s.Data[i]
	}
	y, err := im.add(name+"/scale", "BatchNormalization", Binary{Mul}, nil, x, &Value{Name: name + "/s", Shape: shape, Const: s})
	if err != nil {
		return nil, err
	}
	return im.add(name+"/shift", "BatchNormalization", Binary{Add}, nil, y, &Value{Name: name + "/t", Shape: shape, Const: t})
}

func (im *importer) unary(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 3)
	if err != nil {
		return nil, err
	}
	op := Unary{Min: math.Inf(-1), Max: math.Inf(1)}
	switch n.OpType {
	case "Relu":
		op.Func = Relu
	case "LeakyRelu":
		op.Func, op.Alpha = LeakyRelu, attrFloat(n, "alpha", 0.01)
	case "Sigmoid":
		op.Func = Sigmoid
	case "Tanh":
		op.Func = Tanh
	case "Abs":
		op.Func = Abs
	case "Neg":
		op.Func = Neg
	case "Exp":
		op.Func = Exp
	case "Elu":
		op.Func, op.Alpha = Elu, attrFloat(n, "alpha", 1)
	case "Softplus":
		op.Func = Softplus
	case "Erf":
		op.Func = Erf
	case "HardSigmoid":
		op.Func, op.Alpha, op.Beta = HardSigmoid, attrFloat(n, "alpha", 0.2), attrFloat(n, "beta", 0.5)
	case "HardSwish":
		op.Func = HardSwish
	case "Gelu":
		switch a := attrString(n, "approximate", "none"); a {
		case "none":
			op.Func = Gelu
		case "tanh":
			op.Func = GeluTanh
		default:
			return nil, errorf(ErrInvalid, "Gelu approximate %q is neither \"none\" nor \"tanh\"", a)
		}
	case "Sqrt":
		op.Func = Sqrt
	case "Pow":
		// Only x^p with a constant scalar p: the patterns exporters emit
		// (x.pow(2) in layer norms, x³ in tanh-GELU). A constant base with
		// an activation exponent would need a gradient in the exponent.
		op.Func = Pow
		if len(in) != 2 || in[1] == nil {
			return nil, errorf(ErrInvalid, "Pow takes two inputs")
		}
		p := in[1]
		if !p.IsConst() || len(p.Const.Data) != 1 || len(p.Shape) > len(in[0].Shape) {
			return nil, errorf(ErrUnsupported, "Pow exponent must be a scalar constant")
		}
		op.Alpha = p.Const.Data[0]
	case "Clip":
		op.Func = Clip
		if im.opset < 11 {
			op.Min, op.Max = attrFloat(n, "min", math.Inf(-1)), attrFloat(n, "max", math.Inf(1))
		} else {
			for i, dst := range []*float64{&op.Min, &op.Max} {
				if len(in) > i+1 && in[i+1] != nil {
					v := in[i+1]
					if !v.IsConst() || len(v.Const.Data) != 1 {
						return nil, errorf(ErrUnsupported, "Clip bounds must be scalar constants")
					}
					*dst = v.Const.Data[0]
				}
			}
		}
		if op.Min > op.Max {
			return nil, errorf(ErrInvalid, "Clip min %v > max %v", op.Min, op.Max)
		}
	}
	if n.OpType != "Clip" && n.OpType != "Pow" && len(in) > 1 {
		return nil, errorf(ErrInvalid, "%s takes one input", n.OpType)
	}
	return im.add(name, n.OpType, op, nil, in[0])
}

func (im *importer) softmax(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	log := n.OpType == "LogSoftmax"
	def := int64(-1)
	if im.opset < 13 {
		def = 1
	}
	axis, err := normAxis(int(attrInt(n, "axis", def)), len(x.Shape))
	if err != nil {
		return nil, err
	}
	if im.opset >= 13 || axis == len(x.Shape)-1 {
		return im.add(name, n.OpType, Softmax{Axis: axis, Log: log}, nil, x)
	}
	// Before opset 13 the input is viewed as 2-D [prod(dims[:axis]), prod(dims[axis:])].
	flat, err := mergeDims(x.Shape[axis:])
	if err != nil {
		return nil, err
	}
	target := append(x.Shape[:axis:axis], flat)
	y, err := im.add(name+"/flatten", n.OpType, Reshape{}, target, x)
	if err != nil {
		return nil, err
	}
	if y, err = im.add(name, n.OpType, Softmax{Axis: axis, Log: log}, nil, y); err != nil {
		return nil, err
	}
	return im.add(name+"/unflatten", n.OpType, Reshape{}, x.Shape.Clone(), y)
}

// mergeDims is the size of the dimensions merged into one: their product, or
// Batch when the batch is merged with dimensions of size 1 only.
func mergeDims(dims Shape) (int, error) {
	if slices.Contains(dims, Batch) {
		for _, d := range dims {
			if d != Batch && d != 1 {
				return 0, errorf(ErrUnsupported, "merging the batch dimension with others (%v) mixes samples", dims)
			}
		}
		return Batch, nil
	}
	return prod(dims), nil
}

func (im *importer) pool(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	if len(x.Shape) != 4 {
		return nil, errorf(ErrUnsupported, "only 2-D pooling is supported (input %v)", x.Shape)
	}
	k, ok, err := attrInts(n, "kernel_shape")
	if err != nil {
		return nil, err
	}
	if !ok || len(k) != 2 {
		return nil, errorf(ErrUnsupported, "kernel_shape %v: only 2-D pooling is supported", k)
	}
	kernel := [2]int{k[0], k[1]}
	st, dil, pads, err := spatial(n, kernel, x.Shape)
	if err != nil {
		return nil, err
	}
	op := Pool{Max: n.OpType == "MaxPool", Kernel: kernel, Strides: st, Dilations: dil, Pads: pads,
		CeilMode: attrInt(n, "ceil_mode", 0) != 0, CountIncludePad: attrInt(n, "count_include_pad", 0) != 0}
	if attrInt(n, "storage_order", 0) != 0 {
		return nil, errorf(ErrUnsupported, "MaxPool storage_order 1")
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		im.poison[n.Outputs[1]] = fmt.Sprintf("the Indices output of MaxPool %q is not supported", name)
	}
	return im.add(name, n.OpType, op, nil, x)
}

func (im *importer) pad(n *onnx.Node, name string) (*Value, error) {
	var x *Value
	var pads []int
	val := 0.0
	mode := attrString(n, "mode", "constant")
	if im.opset < 11 {
		in, err := im.inputs(n, 1, 1)
		if err != nil {
			return nil, err
		}
		x = in[0]
		p, _, err := attrInts(n, "pads")
		if err != nil {
			return nil, err
		}
		pads, val = p, attrFloat(n, "value", 0)
	} else {
		in, err := im.inputs(n, 2, 4)
		if err != nil {
			return nil, err
		}
		x = in[0]
		if pads, err = constInts(in[1], "Pad pads"); err != nil {
			return nil, err
		}
		if len(in) > 2 && in[2] != nil {
			if !in[2].IsConst() || len(in[2].Const.Data) != 1 {
				return nil, errorf(ErrUnsupported, "Pad constant_value must be a scalar constant")
			}
			val = in[2].Const.Data[0]
		}
		if len(in) > 3 && in[3] != nil {
			axes, err := constInts(in[3], "Pad axes")
			if err != nil {
				return nil, err
			}
			full := make([]int, 2*len(x.Shape))
			if len(pads) != 2*len(axes) {
				return nil, errorf(ErrInvalid, "Pad has %d pads for %d axes", len(pads), len(axes))
			}
			for i, a := range axes {
				if a, err = normAxis(a, len(x.Shape)); err != nil {
					return nil, err
				}
				full[a], full[a+len(x.Shape)] = pads[i], pads[i+len(axes)]
			}
			pads = full
		}
	}
	if mode != "constant" {
		return nil, errorf(ErrUnsupported, "Pad mode %q (only constant)", mode)
	}
	r := len(x.Shape)
	if len(pads) != 2*r {
		return nil, errorf(ErrInvalid, "Pad has %d pads for a rank-%d input", len(pads), r)
	}
	return im.add(name, "Pad", Pad{Begin: pads[:r], End: pads[r:], Value: val}, nil, x)
}

// transpose2 returns the transpose of a constant matrix, in blocks of
// 64×64 so that the reads and the writes both stay in cache: done element
// by element, VGG's 4096×25088 classifier weights took tens of seconds.
// A float32 matrix stays float32.
func transpose2(t *Tensor) *Tensor {
	r, c := t.Shape[0], t.Shape[1]
	out := &Tensor{Shape: []int{c, r}}
	if t.F32 != nil {
		out.F32 = make([]float32, r*c)
		transposeBlocked(out.F32, t.F32, r, c)
	} else {
		out.Data = make([]float64, r*c)
		transposeBlocked(out.Data, t.Data, r, c)
	}
	return out
}

// transposeBlock is the height of the strips, and the width of the blocks,
// in which matrices are transposed.
const transposeBlock = 64

// transposeBlocked writes the transpose of the r×c matrix src to dst.
func transposeBlocked[T float32 | float64](dst, src []T, r, c int) {
	for i0 := 0; i0 < r; i0 += transposeBlock {
		transposeRows(dst, src[i0*c:], r, c, i0, min(transposeBlock, r-i0))
	}
}

// transposeRows writes rows [i0, i0+k) of an r×c matrix, held in rows (k×c,
// row i0 first), into dst, its c×r transpose, in blocks of transposeBlock
// columns.
func transposeRows[T float32 | float64](dst, rows []T, r, c, i0, k int) {
	for j0 := 0; j0 < c; j0 += transposeBlock {
		j1 := min(j0+transposeBlock, c)
		for i := range k {
			for j, v := range rows[i*c+j0 : i*c+j1] {
				dst[(j0+j)*r+i0+i] = v
			}
		}
	}
}

func scaled(t *Tensor, s float64) *Tensor {
	out := &Tensor{Shape: append([]int(nil), t.Shape...), Data: make([]float64, t.Len())}
	for i, v := range t.Float64s() {
		out.Data[i] = v * s
	}
	return out
}

func constValue(name string, t *Tensor) *Value {
	return &Value{Name: name, Shape: Shape(t.Shape).Clone(), Const: t}
}

func (im *importer) gemm(n *onnx.Node, name string) (*Value, error) {
	in, err := im.weightInputs(n, 2, 3, 1)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	var c *Value
	if len(in) > 2 {
		c = in[2]
	}
	alpha, beta := attrFloat(n, "alpha", 1), attrFloat(n, "beta", 1)
	transA, transB := attrInt(n, "transA", 0) != 0, attrInt(n, "transB", 0) != 0
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, errorf(ErrInvalid, "Gemm of %v and %v: both must be matrices", a.Shape, b.Shape)
	}
	if transA {
		if a, err = im.add(name+"/transA", "Gemm", Transpose{Perm: []int{1, 0}}, nil, a); err != nil {
			return nil, err
		}
	}
	var y *Value
	if b.IsConst() && !a.IsConst() {
		w, err := im.gemmWeight(b.Const, transB, alpha)
		if err != nil {
			return nil, err
		}
		args := []*Value{a, constValue(name+"/W", w)}
		m := w.Shape[1]
		if c != nil && c.IsConst() && (len(c.Const.Data) == m || len(c.Const.Data) == 1) && (len(c.Shape) == 0 || c.Shape[len(c.Shape)-1] == m || len(c.Const.Data) == 1) {
			bias := NewTensor(m)
			for j := range bias.Data {
				bias.Data[j] = beta * c.Const.Data[j%len(c.Const.Data)]
			}
			args = append(args, constValue(name+"/b", bias))
			c = nil
		}
		if y, err = im.add(name, "Gemm", Dense{}, nil, args...); err != nil {
			return nil, err
		}
	} else {
		if err := im.load(b); err != nil {
			return nil, err
		}
		if transB {
			if b, err = im.add(name+"/transB", "Gemm", Transpose{Perm: []int{1, 0}}, nil, b); err != nil {
				return nil, err
			}
		}
		if y, err = im.add(name, "Gemm", MatMul{}, nil, a, b); err != nil {
			return nil, err
		}
		if alpha != 1 {
			if y, err = im.add(name+"/alpha", "Gemm", Binary{Mul}, nil, y, constValue(name+"/alpha_c", &Tensor{Shape: []int{}, Data: []float64{alpha}})); err != nil {
				return nil, err
			}
		}
	}
	if c != nil && beta != 0 {
		if beta != 1 {
			if c, err = im.add(name+"/beta", "Gemm", Binary{Mul}, nil, c, constValue(name+"/beta_c", &Tensor{Shape: []int{}, Data: []float64{beta}})); err != nil {
				return nil, err
			}
		}
		return im.add(name+"/bias", "Gemm", Binary{Add}, nil, y, c)
	}
	return y, nil
}

// gemmWeight returns b (transposed, scaled by alpha) as a Dense weight. The
// result is shared by every Gemm that reads the same b the same way: a file
// whose nodes all read one large weight must not make import copy it once
// per node. A deferred b is read transposed from the file, never as stored.
func (im *importer) gemmWeight(b *Tensor, transB bool, alpha float64) (*Tensor, error) {
	src, deferred := im.deferred[b]
	if deferred && !transB {
		if err := im.load(&Value{Const: b}); err != nil {
			return nil, err
		}
		deferred = false
	}
	if !transB && alpha == 1 {
		return b, nil
	}
	key := gemmKey{b, transB, alpha}
	if w, ok := im.gemmWeights[key]; ok {
		return w, nil
	}
	w := b
	if deferred {
		var err error
		if w, err = transposeFrom(src, b.Shape[0], b.Shape[1]); err != nil {
			return nil, err
		}
	} else if transB {
		w = transpose2(w)
	}
	if alpha != 1 {
		w = scaled(w, alpha)
	}
	im.gemmWeights[key] = w
	return w, nil
}

// transposeFrom returns the transpose of the float32 r×c matrix src, read
// from the file transposeBlock rows at a time.
func transposeFrom(src *onnx.Tensor, r, c int) (*Tensor, error) {
	out := &Tensor{Shape: []int{c, r}, F32: make([]float32, r*c)}
	buf := make([]float32, min(transposeBlock, r)*c)
	for i0 := 0; i0 < r; i0 += transposeBlock {
		k := min(transposeBlock, r-i0)
		if err := src.ReadFloat32s(buf[:k*c], int64(i0*c)); err != nil {
			return nil, fmt.Errorf("initializer %q: %w", src.Name, err)
		}
		transposeRows(out.F32, buf, r, c, i0, k)
	}
	return out, nil
}

type gemmKey struct {
	b      *Tensor
	transB bool
	alpha  float64
}

func (im *importer) matmul(n *onnx.Node, name string) (*Value, error) {
	in, err := im.weightInputs(n, 2, 2, 1)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if b.IsConst() && !a.IsConst() && len(b.Shape) == 2 && len(a.Shape) >= 2 {
		return im.add(name, "MatMul", Dense{}, nil, a, b)
	}
	return im.add(name, "MatMul", MatMul{}, nil, a, b)
}

func (im *importer) flatten(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	axis := int(attrInt(n, "axis", 1))
	if axis < 0 {
		axis += len(x.Shape)
	}
	if axis < 0 || axis > len(x.Shape) {
		return nil, errorf(ErrInvalid, "Flatten axis %d for rank %d", axis, len(x.Shape))
	}
	outer, err := mergeDims(x.Shape[:axis])
	if err != nil {
		return nil, err
	}
	inner, err := mergeDims(x.Shape[axis:])
	if err != nil {
		return nil, err
	}
	return im.reshapeTo(name, "Flatten", x, Shape{outer, inner})
}

// reshapeTo reshapes x to target, which may hold Batch.
func (im *importer) reshapeTo(name, source string, x *Value, target Shape) (*Value, error) {
	if x.IsConst() {
		if slices.Contains(target, Batch) {
			return nil, errorf(ErrUnsupported, "reshaping a constant to a batch-sized shape")
		}
		if prod(target) != x.Const.Len() {
			return nil, errorf(ErrInvalid, "cannot reshape %v to %v", x.Shape, target)
		}
	} else if target.PerSample() != x.Shape.PerSample() || !slices.Contains(target, Batch) {
		return nil, errorf(ErrInvalid, "cannot reshape %v to %v", x.Shape, target)
	} else if !sameBatchLayout(x.Shape, target) {
		return nil, errorf(ErrUnsupported, "reshaping %v to %v would mix samples: the batch axis must keep the same elements before and after it", x.Shape, target)
	}
	if x.Shape.Equal(target) {
		return x, nil
	}
	return im.add(name, source, Reshape{}, target, x)
}

func (im *importer) reshape(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	x := in[0]
	spec, err := constInts(in[1], "Reshape shape")
	if err != nil {
		return nil, err
	}
	allowZero := attrInt(n, "allowzero", 0) != 0
	target := make(Shape, len(spec))
	infer := -1
	for i, d := range spec {
		switch {
		case d == symDim:
			target[i] = Batch
		case d == 0 && !allowZero:
			if i >= len(x.Shape) {
				return nil, errorf(ErrInvalid, "Reshape copies dimension %d of a rank-%d input", i, len(x.Shape))
			}
			target[i] = x.Shape[i]
		case d == -1:
			if infer >= 0 {
				return nil, errorf(ErrInvalid, "Reshape shape %v has two -1", spec)
			}
			infer = i
		case d < 0:
			return nil, errorf(ErrInvalid, "Reshape shape %v", spec)
		default:
			target[i] = d
		}
	}
	known := 1
	for i, d := range target {
		if i != infer && d != Batch {
			known *= d
		}
	}
	hasBatch := slices.Contains(target, Batch)
	xBatch := x.Shape.BatchAxis() >= 0
	per := x.Shape.PerSample()
	if x.IsConst() {
		per = x.Const.Len()
	}
	switch {
	case !xBatch || hasBatch:
		if infer >= 0 {
			if known == 0 || per%known != 0 {
				return nil, errorf(ErrInvalid, "cannot reshape %v to %v", x.Shape, spec)
			}
			target[infer] = per / known
		}
	case infer >= 0 && known > 0 && per == known:
		// [-1, K] with K the per-sample size: -1 is the batch.
		target[infer] = Batch
	case len(target) > 0 && target[0] == 1 && x.Shape.BatchAxis() == 0 && (infer > 0 || known == per):
		// A batch size of 1 baked into the export: [1, ...] stands for [N, ...].
		target[0] = Batch
		if infer > 0 {
			if per%known != 0 {
				return nil, errorf(ErrInvalid, "cannot reshape %v to %v", x.Shape, spec)
			}
			target[infer] = per / known
		}
		im.notes = append(im.notes, fmt.Sprintf("Reshape %q had a batch size of 1 baked into its shape %v; advcheck treats dimension 0 as the batch", name, spec))
	default:
		return nil, errorf(ErrUnsupported, "Reshape to %v does not keep the batch dimension of %v (export the model with a dynamic batch axis)", spec, x.Shape)
	}
	return im.reshapeTo(name, "Reshape", x, target)
}

func (im *importer) transpose(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	perm, ok, err := attrInts(n, "perm")
	if err != nil {
		return nil, err
	}
	if !ok {
		for i := len(x.Shape) - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	return im.add(name, "Transpose", Transpose{Perm: perm}, nil, x)
}

func (im *importer) concat(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1024)
	if err != nil {
		return nil, err
	}
	axis, err := normAxis(int(attrInt(n, "axis", 0)), len(in[0].Shape))
	if err != nil {
		return nil, err
	}
	if len(in) == 1 {
		return in[0], nil
	}
	return im.add(name, "Concat", Concat{Axis: axis}, nil, in...)
}

func (im *importer) shape(n *onnx.Node) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape
	start, end := int(attrInt(n, "start", 0)), int(attrInt(n, "end", int64(len(s))))
	start, end = clampSlice(start, len(s)), clampSlice(end, len(s))
	if end < start {
		end = start
	}
	t := &Tensor{Shape: []int{end - start}, Data: make([]float64, end-start), Int: true}
	for i, d := range s[start:end] {
		if d == Batch {
			if t.Sym == nil {
				t.Sym = make([]bool, len(t.Data))
			}
			t.Sym[i] = true
			t.Data[i] = 1 // the coefficient: 1·N
			continue
		}
		t.Data[i] = float64(d)
	}
	return &Value{Name: n.Outputs[0], Shape: Shape(t.Shape), Const: t}, nil
}

func (im *importer) constantOfShape(n *onnx.Node) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	if in[0].IsConst() && in[0].Const.HasSym() {
		return nil, errorf(ErrUnsupported, "ConstantOfShape with a batch-sized shape")
	}
	dims, err := constInts(in[0], "ConstantOfShape shape")
	if err != nil {
		return nil, err
	}
	if err := im.reserve("ConstantOfShape output", dims); err != nil {
		return nil, err
	}
	t := NewTensor(dims...)
	if a := n.Attr("value"); a != nil && a.T != nil {
		v, err := tensorData(a.T)
		if err != nil {
			return nil, err
		}
		if v.Len() != 1 {
			return nil, errorf(ErrInvalid, "ConstantOfShape value has %d elements", v.Len())
		}
		fill := v.Float64s()[0]
		for i := range t.Data {
			t.Data[i] = fill
		}
		t.Int = v.Int
	}
	return &Value{Name: n.Outputs[0], Shape: Shape(t.Shape).Clone(), Const: t}, nil
}

func clampSlice(i, n int) int {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

func (im *importer) gather(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	data, idx := in[0], in[1]
	if !idx.IsConst() {
		return nil, errorf(ErrUnsupported, "Gather with indices computed from the model's activations")
	}
	axis, err := normAxis(int(attrInt(n, "axis", 0)), len(data.Shape))
	if err != nil {
		return nil, err
	}
	if !data.IsConst() {
		return im.gatherActivations(data, idx, axis, name)
	}
	d := data.Const
	outShape := append(append(append([]int(nil), d.Shape[:axis]...), idx.Shape...), d.Shape[axis+1:]...)
	if err := im.reserve("Gather output", outShape); err != nil {
		return nil, err
	}
	indices, err := constInts(idx, "Gather indices")
	if err != nil {
		return nil, err
	}
	outer, size, inner := splitAxis(d.Shape, axis)
	out := NewTensor(outShape...)
	out.Int = d.Int
	for o := 0; o < outer; o++ {
		for j, k := range indices {
			if k < 0 {
				k += size
			}
			if k < 0 || k >= size {
				return nil, errorf(ErrInvalid, "Gather index %d out of range %d", indices[j], size)
			}
			for i := 0; i < inner; i++ {
				src := (o*size+k)*inner + i
				dst := (o*len(indices)+j)*inner + i
				out.Data[dst] = d.Data[src]
				if d.Sym != nil && d.Sym[src] {
					if out.Sym == nil {
						out.Sym = make([]bool, len(out.Data))
					}
					out.Sym[dst] = true
				}
			}
		}
	}
	return &Value{Name: n.Outputs[0], Shape: Shape(outShape), Const: out}, nil
}

func (im *importer) squeeze(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 2)
	if err != nil {
		return nil, err
	}
	x := in[0]
	var axes []int
	if im.opset < 13 {
		axes, _, err = attrInts(n, "axes")
	} else if len(in) > 1 {
		axes, err = constInts(in[1], n.OpType+" axes")
	}
	if err != nil {
		return nil, err
	}
	var target Shape
	if n.OpType == "Unsqueeze" {
		rank := len(x.Shape) + len(axes)
		ins := make([]bool, rank)
		for _, a := range axes {
			if a, err = normAxis(a, rank); err != nil {
				return nil, err
			}
			ins[a] = true
		}
		k := 0
		for i := 0; i < rank; i++ {
			if ins[i] {
				target = append(target, 1)
			} else {
				target = append(target, x.Shape[k])
				k++
			}
		}
	} else {
		drop := make([]bool, len(x.Shape))
		for _, a := range axes {
			if a, err = normAxis(a, len(x.Shape)); err != nil {
				return nil, err
			}
			if x.Shape[a] != 1 {
				return nil, errorf(ErrInvalid, "Squeeze of axis %d of size %v", a, x.Shape[a])
			}
			drop[a] = true
		}
		for i, d := range x.Shape {
			if len(axes) == 0 && d == 1 || drop[i] {
				continue
			}
			target = append(target, d)
		}
	}
	if target == nil {
		target = Shape{}
	}
	if x.IsConst() {
		t := *x.Const
		t.Shape = []int(target.Clone())
		return &Value{Name: n.Outputs[0], Shape: target, Const: &t}, nil
	}
	return im.reshapeTo(name, n.OpType, x, target)
}

func (im *importer) slice(n *onnx.Node, name string) (*Value, error) {
	var x *Value
	var starts, ends, axes, steps []int
	if im.opset < 10 {
		in, err := im.inputs(n, 1, 1)
		if err != nil {
			return nil, err
		}
		x = in[0]
		if starts, _, err = attrInts(n, "starts"); err != nil {
			return nil, err
		}
		if ends, _, err = attrInts(n, "ends"); err != nil {
			return nil, err
		}
		if axes, _, err = attrInts(n, "axes"); err != nil {
			return nil, err
		}
	} else {
		in, err := im.inputs(n, 3, 5)
		if err != nil {
			return nil, err
		}
		x = in[0]
		if starts, err = constInts(in[1], "Slice starts"); err != nil {
			return nil, err
		}
		if ends, err = constInts(in[2], "Slice ends"); err != nil {
			return nil, err
		}
		if len(in) > 3 {
			if axes, err = constInts(in[3], "Slice axes"); err != nil {
				return nil, err
			}
		}
		if len(in) > 4 {
			if steps, err = constInts(in[4], "Slice steps"); err != nil {
				return nil, err
			}
		}
	}
	r := len(x.Shape)
	if axes == nil {
		for i := range starts {
			axes = append(axes, i)
		}
	}
	if steps == nil {
		steps = make([]int, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(starts) != len(ends) || len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, errorf(ErrInvalid, "Slice starts, ends, axes and steps differ in length")
	}
	op := Slice{Starts: make([]int, r), Ends: make([]int, r), Steps: make([]int, r)}
	for d := 0; d < r; d++ {
		op.Ends[d], op.Steps[d] = x.Shape[d], 1
	}
	for i, a := range axes {
		a, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		dim, st := x.Shape[a], steps[i]
		if st == 0 {
			return nil, errorf(ErrInvalid, "Slice step 0")
		}
		if dim == Batch {
			if starts[i] == 0 && st == 1 && (ends[i] >= math.MaxInt32 || ends[i] == symDim) {
				continue
			}
			return nil, errorf(ErrUnsupported, "Slice along the batch axis")
		}
		s, e := starts[i], ends[i]
		if s < 0 {
			s += dim
		}
		if e < 0 && e != math.MinInt32 {
			e += dim
		}
		if st > 0 {
			s, e = min(max(s, 0), dim), min(max(e, 0), dim)
		} else {
			s, e = min(max(s, 0), dim-1), min(max(e, -1), dim-1)
		}
		op.Starts[a], op.Ends[a], op.Steps[a] = s, e, st
	}
	for d := 0; d < r; d++ {
		if x.Shape[d] == Batch {
			op.Ends[d] = Batch
		}
	}
	return im.add(name, "Slice", op, nil, x)
}

func (im *importer) reduce(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 2)
	if err != nil {
		return nil, err
	}
	x := in[0]
	var axes []int
	fromInput := (n.OpType == "ReduceSum" && im.opset >= 13) || im.opset >= 18
	if fromInput {
		if len(in) > 1 {
			axes, err = constInts(in[1], n.OpType+" axes")
		}
	} else {
		axes, _, err = attrInts(n, "axes")
	}
	if err != nil {
		return nil, err
	}
	if len(axes) == 0 {
		if attrInt(n, "noop_with_empty_axes", 0) != 0 {
			return x, nil
		}
		for i := range x.Shape {
			axes = append(axes, i)
		}
	}
	for i, a := range axes {
		if axes[i], err = normAxis(a, len(x.Shape)); err != nil {
			return nil, err
		}
	}
	slices.Sort(axes)
	axes = slices.Compact(axes)
	keep := attrInt(n, "keepdims", 1) != 0
	if n.OpType == "ReduceMax" || n.OpType == "ReduceMin" {
		return im.add(name, n.OpType, ReduceMax{Axes: axes, KeepDims: keep, Min: n.OpType == "ReduceMin"}, nil, x)
	}
	op := Reduce{Mean: n.OpType == "ReduceMean", Axes: axes, KeepDims: keep}
	return im.add(name, n.OpType, op, nil, x)
}

// check runs before any conversion: it refuses graphs that assign a name
// twice (as the ONNX checker does; otherwise the last writer would silently
// win), ops used before their opset defines them, and lists at once every
// op advcheck lacks.
func (im *importer) check(og *onnx.Graph) error {
	writer := map[string]string{} // tensor name → what defines it, for messages
	for _, t := range og.Initializers {
		if prev, dup := writer[t.Name]; dup {
			return errorf(ErrInvalid, "tensor %q is defined twice: by %s and by an initializer; an ONNX graph assigns each name once", t.Name, prev)
		}
		writer[t.Name] = "an initializer"
	}
	for _, vi := range og.Inputs {
		prev, dup := writer[vi.Name]
		if dup && prev == "an initializer" {
			continue // an input with a default value (IR version < 4 lists initializers as inputs)
		}
		if dup {
			return errorf(ErrInvalid, "graph input %q is declared twice; an ONNX graph assigns each name once", vi.Name)
		}
		writer[vi.Name] = "the graph input"
	}
	for i, n := range og.Nodes {
		this := fmt.Sprintf("node %q (%s)", nodeLabel(i, n), n.OpType)
		for _, out := range n.Outputs {
			if out == "" {
				continue // an omitted optional output
			}
			if prev, dup := writer[out]; dup {
				return errorf(ErrInvalid, "tensor %q is written by %s and already by %s; an ONNX graph assigns each name once", out, this, prev)
			}
			writer[out] = this
		}
	}
	var missing []UnsupportedOp
	at := map[string]int{} // domain/op → index in missing
	for i, n := range og.Nodes {
		if e, ok := opTable[n.OpType]; ok && (n.Domain == "" || n.Domain == "ai.onnx") {
			if im.opset < e.since {
				return errorf(ErrInvalid, "node %q: op %s does not exist before opset %d; the model imports opset %d", nodeLabel(i, n), n.OpType, e.since, im.opset)
			}
			continue
		}
		key := n.Domain + "/" + n.OpType
		if k, seen := at[key]; seen {
			missing[k].Count++
			continue
		}
		at[key] = len(missing)
		missing = append(missing, UnsupportedOp{OpType: n.OpType, Domain: n.Domain, Count: 1, First: nodeLabel(i, n)})
	}
	if missing != nil {
		return &UnsupportedOpsError{Ops: missing}
	}
	return nil
}
