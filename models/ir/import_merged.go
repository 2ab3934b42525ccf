package ir

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/advcheck/advcheck/models/onnx"
)

// Merged batch axes. Attention written with torch.nn.MultiheadAttention
// reshapes [L×N×E] to [L×N·H×E/H] (the batch merged with the heads) and
// [L·N×E]; Swin's windows reshape [N×h×w×C] to [N·W×s×C]. Samples stay
// apart, but the IR has one batch axis of size N. The importer keeps such a
// tensor unmerged in the IR ([L×N×H×E/H]) and remembers which IR axes make
// up each axis of the ONNX tensor (its groups). Reshape, Transpose, Shape,
// elementwise arithmetic, MatMul, Gemm, Softmax and Gather follow the groups;
// any other op reading a merged tensor is refused. Shape computations carry
// the merged size as a multiple of the batch size: a Sym element of a shape
// tensor stands for Data[i]·N.

// groups returns, for each ONNX axis of v, the number of IR axes it spans
// (nil when v is not merged: one IR axis per ONNX axis).
func (im *importer) groups(v *Value) []int { return im.merged[v] }

// dimInfo is one ONNX dimension: a size, or k·N.
type dimInfo struct {
	size int
	sym  bool // size is the coefficient k of k·N
}

// onnxDims returns the ONNX view of v's shape.
func (im *importer) onnxDims(v *Value) []dimInfo {
	gs := im.groups(v)
	if gs == nil {
		out := make([]dimInfo, len(v.Shape))
		for i, d := range v.Shape {
			if d == Batch {
				out[i] = dimInfo{1, true}
			} else {
				out[i] = dimInfo{d, false}
			}
		}
		return out
	}
	out := make([]dimInfo, len(gs))
	at := 0
	for i, g := range gs {
		di := dimInfo{1, false}
		for _, d := range v.Shape[at : at+g] {
			if d == Batch {
				di.sym = true
			} else {
				di.size *= d
			}
		}
		out[i] = di
		at += g
	}
	return out
}

// groupStarts returns the first IR axis of each ONNX axis.
func groupStarts(gs []int, rank int) []int {
	if gs == nil {
		s := make([]int, rank)
		for i := range s {
			s[i] = i
		}
		return s
	}
	s := make([]int, len(gs))
	at := 0
	for i, g := range gs {
		s[i] = at
		at += g
	}
	return s
}

// setGroups records the groups of v, or none when every group is one axis.
func (im *importer) setGroups(v *Value, gs []int) {
	for _, g := range gs {
		if g != 1 {
			im.merged[v] = gs
			return
		}
	}
}

// mergedReaders are the ops that follow merged batch axes.
var mergedReaders = map[string]bool{
	"Reshape": true, "Transpose": true, "Shape": true, "Add": true, "Sub": true, "Mul": true, "Div": true,
	"MatMul": true, "Gemm": true, "Softmax": true, "Gather": true, "Identity": true, "Dropout": true, "Cast": true,
}

// convertMerged converts n when one of its inputs is merged, or when it is
// a Reshape that merges the batch. It reports whether it handled n.
func (im *importer) convertMerged(n *onnx.Node, name string) (*Value, bool, error) {
	merged := false
	for _, in := range n.Inputs {
		if v, ok := im.vals[in]; ok && im.groups(v) != nil {
			merged = true
			if !mergedReaders[n.OpType] {
				return nil, true, errorf(ErrUnsupported, "%s reads %q, whose batch axis the model merged with other axes (%v); advcheck follows such tensors through Reshape, Transpose, Shape, arithmetic, MatMul, Gemm, Softmax and Gather only",
					n.OpType, in, im.onnxShapeString(v))
			}
		}
	}
	switch n.OpType {
	case "Reshape":
		if !merged && !mergingTarget(im.vals[n.Inputs[min(1, len(n.Inputs)-1)]]) {
			// The plain rules first (a batch of 1 baked into the export is
			// the batch); a -1 that takes the batch with other axes after.
			v, err := im.reshape(n, name)
			if err == nil || !errors.Is(err, ErrUnsupported) {
				return v, true, err
			}
			if v2, err2 := im.reshapeMerged(n, name); v2 != nil && err2 == nil {
				return v2, true, nil
			}
			return nil, true, err
		}
		v, err := im.reshapeMerged(n, name)
		if v == nil && err == nil && merged {
			return nil, true, errorf(ErrUnsupported, "Reshape of %s, whose batch axis is merged with others, to a shape advcheck cannot follow", im.onnxShapeString(im.vals[n.Inputs[0]]))
		}
		return v, v != nil || err != nil, err
	case "Shape":
		if merged {
			v, err := im.shapeMerged(n)
			return v, true, err
		}
	}
	if !merged {
		return nil, false, nil
	}
	switch n.OpType {
	case "Identity", "Dropout", "Cast":
		return nil, false, nil // they pass the value (and its groups) through
	case "Transpose":
		v, err := im.transposeMerged(n, name)
		return v, true, err
	case "Add", "Sub", "Mul", "Div":
		v, err := im.binaryMerged(n, name)
		return v, true, err
	case "MatMul", "Gemm":
		v, err := im.matmulMerged(n, name)
		return v, true, err
	case "Softmax":
		v, err := im.softmaxMerged(n, name)
		return v, true, err
	case "Gather":
		v, err := im.gatherMerged(n, name)
		return v, true, err
	}
	return nil, true, errorf(ErrUnsupported, "%s of a tensor whose batch axis is merged with others", n.OpType)
}

func (im *importer) onnxShapeString(v *Value) string {
	s := "["
	for i, d := range im.onnxDims(v) {
		if i > 0 {
			s += "×"
		}
		if d.sym {
			if d.size == 1 {
				s += "N"
			} else {
				s += fmt.Sprintf("%d·N", d.size)
			}
		} else {
			s += fmt.Sprint(d.size)
		}
	}
	return s + "]"
}

func (im *importer) shapeMerged(n *onnx.Node) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	dims := im.onnxDims(in[0])
	start, end := int(attrInt(n, "start", 0)), int(attrInt(n, "end", int64(len(dims))))
	start, end = clampSlice(start, len(dims)), clampSlice(end, len(dims))
	if end < start {
		end = start
	}
	t := &Tensor{Shape: []int{end - start}, Data: make([]float64, end-start), Int: true}
	for i, d := range dims[start:end] {
		t.Data[i] = float64(d.size)
		if d.sym {
			if t.Sym == nil {
				t.Sym = make([]bool, len(t.Data))
			}
			t.Sym[i] = true
		}
	}
	return &Value{Name: n.Outputs[0], Shape: Shape(t.Shape), Const: t}, nil
}

// reshapeMerged handles a Reshape of a merged tensor, or one whose target
// merges the batch with other axes; it returns nil, nil for the others.
func (im *importer) reshapeMerged(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	x, spec := in[0], in[1]
	if x.IsConst() || !spec.IsConst() {
		return nil, nil
	}
	xd := im.onnxDims(x)
	per := x.Shape.PerSample()
	t := spec.Const
	allowZero := attrInt(n, "allowzero", 0) != 0
	target := make([]dimInfo, len(t.Data))
	infer, sym := -1, -1
	known := 1
	for i, f := range t.Data {
		isSym := t.Sym != nil && t.Sym[i]
		switch {
		case isSym:
			if sym >= 0 || f != math.Trunc(f) || f < 1 {
				return nil, nil // the plain importer explains it
			}
			target[i], sym = dimInfo{int(f), true}, i
		case f == 0 && !allowZero:
			if i >= len(xd) {
				return nil, errorf(ErrInvalid, "Reshape copies dimension %d of a rank-%d input", i, len(xd))
			}
			target[i] = xd[i]
			if xd[i].sym {
				if sym >= 0 {
					return nil, nil
				}
				sym = i
			} else {
				known *= xd[i].size
			}
		case f == -1:
			if infer >= 0 {
				return nil, nil
			}
			infer = i
		case f < 0 || f != math.Trunc(f) || f > math.MaxInt32:
			return nil, nil
		default:
			target[i] = dimInfo{int(f), false}
			known *= int(f)
		}
	}
	coef := 1
	if sym >= 0 {
		coef = target[sym].size
	}
	switch {
	case infer >= 0 && sym >= 0:
		if known*coef == 0 || per%(known*coef) != 0 {
			return nil, nil
		}
		target[infer] = dimInfo{per / (known * coef), false}
	case infer >= 0:
		// No batch-sized entry: -1 takes the batch with what is left.
		if known == 0 || per%known != 0 {
			return nil, nil
		}
		target[infer], sym = dimInfo{per / known, true}, infer
	case sym < 0:
		return nil, nil
	}
	if im.groups(x) == nil && target[sym].size == 1 {
		return nil, nil // nothing merged: the plain importer handles it
	}
	// Place the batch inside entry sym: a·N·b with a = (elements before the
	// batch in x) / (elements of the entries before sym), and b alike.
	bx := x.Shape.BatchAxis()
	before, after := prod(x.Shape[:bx]), prod(x.Shape[bx+1:])
	p, q := 1, 1
	for i, d := range target {
		if i < sym {
			p *= d.size
		} else if i > sym {
			q *= d.size
		}
	}
	if p == 0 || q == 0 || before%p != 0 || after%q != 0 || (before/p)*(after/q) != target[sym].size {
		return nil, errorf(ErrUnsupported, "Reshape of %s to %v would mix samples", im.onnxShapeString(x), dimsString(target))
	}
	a, b := before/p, after/q
	var ir Shape
	gs := make([]int, len(target))
	for i, d := range target {
		if i != sym {
			ir = append(ir, d.size)
			gs[i] = 1
			continue
		}
		gs[i] = 1
		if a > 1 {
			ir = append(ir, a)
			gs[i]++
		}
		ir = append(ir, Batch)
		if b > 1 {
			ir = append(ir, b)
			gs[i]++
		}
	}
	y, err := im.reshapeTo(name, "Reshape", x, ir)
	if err != nil {
		return nil, err
	}
	if y == x {
		// The same IR shape: a new value, so that x keeps its own groups.
		if y, err = im.add(name, "Reshape", Reshape{}, ir.Clone(), x); err != nil {
			return nil, err
		}
	}
	im.setGroups(y, gs)
	return y, nil
}

// mergingTarget reports whether a Reshape target holds k·N with k > 1.
func mergingTarget(spec *Value) bool {
	if spec == nil || !spec.IsConst() || spec.Const.Sym == nil {
		return false
	}
	for i, s := range spec.Const.Sym {
		if s && spec.Const.Data[i] != 1 {
			return true
		}
	}
	return false
}

func dimsString(ds []dimInfo) string {
	s := "["
	for i, d := range ds {
		if i > 0 {
			s += "×"
		}
		if d.sym {
			s += fmt.Sprintf("%d·N", d.size)
		} else {
			s += fmt.Sprint(d.size)
		}
	}
	return s + "]"
}

func (im *importer) transposeMerged(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	gs := im.groups(x)
	perm, ok, err := attrInts(n, "perm")
	if err != nil {
		return nil, err
	}
	if !ok {
		for i := len(gs) - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	if len(perm) != len(gs) {
		return nil, errorf(ErrInvalid, "Transpose perm %v for a rank-%d input", perm, len(gs))
	}
	starts := groupStarts(gs, len(x.Shape))
	var irPerm []int
	out := make([]int, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(gs) {
			return nil, errorf(ErrInvalid, "Transpose perm %v", perm)
		}
		for k := 0; k < gs[p]; k++ {
			irPerm = append(irPerm, starts[p]+k)
		}
		out[i] = gs[p]
	}
	y, err := im.add(name, "Transpose", Transpose{Perm: irPerm}, nil, x)
	if err != nil {
		return nil, err
	}
	im.setGroups(y, out)
	return y, nil
}

// alignTo rewrites operand v (ONNX rank ≤ that of the groups gs) into the
// IR axes of gs: a merged operand with the same groups as is, a size-1 axis
// as ones, a single axis as itself. It reports false when v cannot be
// aligned (a non-1 size against a merged axis).
func (im *importer) alignTo(v *Value, gs []int, name string) (*Value, bool, error) {
	vg := im.groups(v)
	if vg != nil {
		if slices.Equal(vg, gs[len(gs)-len(vg):]) {
			return v, true, nil
		}
		return nil, false, nil
	}
	off := len(gs) - len(v.Shape)
	if off < 0 {
		return nil, false, nil
	}
	var shape Shape
	changed := false
	for i, d := range v.Shape {
		g := gs[off+i]
		switch {
		case g == 1:
			shape = append(shape, d)
		case d == 1:
			for k := 0; k < g; k++ {
				shape = append(shape, 1)
			}
			changed = true
		default:
			return nil, false, nil
		}
	}
	if !changed {
		return v, true, nil
	}
	if v.IsConst() {
		t := *v.Const
		t.Shape = []int(shape.Clone())
		return &Value{Name: v.Name, Shape: shape, Const: &t}, true, nil
	}
	y, err := im.reshapeTo(name, "Reshape", v, shape)
	return y, err == nil, err
}

// mergedGroups returns the groups of the first merged input.
func (im *importer) mergedGroups(in []*Value) []int {
	var gs []int
	for _, v := range in {
		if g := im.groups(v); g != nil && len(g) > len(gs) {
			gs = g
		}
	}
	return gs
}

func (im *importer) binaryMerged(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	gs := im.mergedGroups(in)
	ops := make([]*Value, 2)
	for i, v := range in {
		a, ok, err := im.alignTo(v, gs, fmt.Sprintf("%s/align%d", name, i))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errorf(ErrUnsupported, "%s of %s and %s: an operand varies along a merged batch axis", n.OpType, im.onnxShapeString(in[0]), im.onnxShapeString(in[1]))
		}
		ops[i] = a
	}
	kind := map[string]BinaryKind{"Add": Add, "Sub": Sub, "Mul": Mul, "Div": Div}[n.OpType]
	y, err := im.add(name, n.OpType, Binary{kind}, nil, ops[0], ops[1])
	if err != nil {
		return nil, err
	}
	im.setGroups(y, gs)
	return y, nil
}

func (im *importer) matmulMerged(n *onnx.Node, name string) (*Value, error) {
	in, err := im.weightInputs(n, 2, 3, 1)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	ga := im.groups(a)
	if ga == nil || ga[len(ga)-1] != 1 || im.groups(b) != nil && ga[len(ga)-2] != 1 {
		return nil, errorf(ErrUnsupported, "%s of %s and %s: a merged batch axis is a matrix axis", n.OpType, im.onnxShapeString(a), im.onnxShapeString(b))
	}
	if n.OpType == "Gemm" {
		if attrInt(n, "transA", 0) != 0 || !b.IsConst() || len(b.Shape) != 2 || len(ga) != 2 {
			return nil, errorf(ErrUnsupported, "Gemm of %s: only x·W with a constant W follows a merged batch axis", im.onnxShapeString(a))
		}
		w, err := im.gemmWeight(b.Const, attrInt(n, "transB", 0) != 0, attrFloat(n, "alpha", 1))
		if err != nil {
			return nil, err
		}
		y, err := im.add(name, "Gemm", Dense{}, nil, a, constValue(name+"/W", w))
		if err != nil {
			return nil, err
		}
		if len(in) > 2 && in[2] != nil {
			c, beta := in[2], attrFloat(n, "beta", 1)
			if !c.IsConst() || len(c.Shape) > 1 {
				return nil, errorf(ErrUnsupported, "Gemm bias of a merged batch axis must be a constant vector")
			}
			if y, err = im.add(name+"/bias", "Gemm", Binary{Add}, nil, y, constValue(name+"/b", scaled(c.Const, beta))); err != nil {
				return nil, err
			}
		}
		im.setGroups(y, ga)
		return y, nil
	}
	if b.IsConst() && len(b.Shape) == 2 {
		y, err := im.add(name, "MatMul", Dense{}, nil, a, b)
		if err != nil {
			return nil, err
		}
		im.setGroups(y, ga)
		return y, nil
	}
	// Both operands carry the batch: their leading axes align as in
	// broadcasting, the matrix axes are single.
	gb := im.groups(b)
	if gb == nil || !slices.Equal(ga, gb) {
		return nil, errorf(ErrUnsupported, "MatMul of %s and %s: the operands merge the batch differently", im.onnxShapeString(a), im.onnxShapeString(b))
	}
	y, err := im.add(name, "MatMul", MatMul{}, nil, a, b)
	if err != nil {
		return nil, err
	}
	im.setGroups(y, ga)
	return y, nil
}

func (im *importer) softmaxMerged(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	gs := im.groups(x)
	if im.opset < 13 {
		return nil, errorf(ErrUnsupported, "Softmax (opset < 13) of a merged batch axis")
	}
	axis, err := normAxis(int(attrInt(n, "axis", -1)), len(gs))
	if err != nil {
		return nil, err
	}
	if gs[axis] != 1 {
		return nil, errorf(ErrUnsupported, "Softmax over a merged batch axis mixes samples")
	}
	y, err := im.add(name, n.OpType, Softmax{Axis: groupStarts(gs, len(x.Shape))[axis], Log: n.OpType == "LogSoftmax"}, nil, x)
	if err != nil {
		return nil, err
	}
	im.setGroups(y, gs)
	return y, nil
}

func (im *importer) gatherMerged(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	x, idx := in[0], in[1]
	gs := im.groups(x)
	axis, err := normAxis(int(attrInt(n, "axis", 0)), len(gs))
	if err != nil {
		return nil, err
	}
	if !idx.IsConst() || gs[axis] != 1 || len(idx.Shape) > 1 {
		return nil, errorf(ErrUnsupported, "Gather of %s along axis %d", im.onnxShapeString(x), axis)
	}
	y, err := im.gatherActivations(x, idx, groupStarts(gs, len(x.Shape))[axis], name)
	if err != nil {
		return nil, err
	}
	out := append(append([]int(nil), gs[:axis]...), make([]int, len(idx.Shape))...)
	for i := axis; i < len(out); i++ {
		out[i] = 1
	}
	im.setGroups(y, append(out, gs[axis+1:]...))
	return y, nil
}

// symArith folds Mul and Div of a shape computation that carries the batch
// size (k·N times or divided by a constant). It returns nil, nil when no
// input carries it.
func (im *importer) symArith(n *onnx.Node, in []*Value) (*Value, error) {
	if len(in) != 2 || !in[0].IsConst() || !in[1].IsConst() || !(in[0].Const.HasSym() || in[1].Const.HasSym()) {
		return nil, nil
	}
	a, b := in[0].Const, in[1].Const
	if !a.Int || !b.Int {
		return nil, errorf(ErrUnsupported, "%s of the batch size and a float", n.OpType)
	}
	y, err := im.foldBroadcast(n.OpType, []*Tensor{a, b}, func(v []float64, sym []bool) (float64, bool, error) {
		switch {
		case sym[0] && sym[1]:
			return 0, false, errorf(ErrUnsupported, "%s of the batch size by itself", n.OpType)
		case !sym[0] && !sym[1]:
			if n.OpType == "Mul" {
				return v[0] * v[1], false, nil
			}
			if v[1] == 0 {
				return 0, false, errorf(ErrInvalid, "integer division by zero")
			}
			return math.Trunc(v[0] / v[1]), false, nil
		case n.OpType == "Mul":
			return v[0] * v[1], true, nil // k·N times c
		case sym[0] && v[1] > 0 && math.Mod(v[0], v[1]) == 0:
			return v[0] / v[1], true, nil // k·N divided by c, c dividing k
		}
		return 0, false, errorf(ErrUnsupported, "%s %q divides by the batch size or leaves a fraction of it", n.OpType, n.Name)
	})
	if err != nil {
		return nil, err
	}
	y.Int = true
	return constValue(n.Outputs[0], y), nil
}
