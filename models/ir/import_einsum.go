package ir

import (
	"slices"
	"strings"

	"github.com/advcheck/advcheck/models/onnx"
)

// Einsum is lowered to the ops the engine already has: each operand is
// transposed and reshaped into a batched matrix, one MatMul (a Dense when
// the other operand is a constant matrix) contracts them, and the result is
// reshaped and transposed into the output's order. The letters of an
// equation fall into four groups:
//
//   - batch letters, in both operands and the output (b, h in
//     "bhqd,bhkd->bhqk"), and the letter of the model's batch axis wherever
//     it is: the leading axes of the batched product;
//   - contracted letters, in both operands and not in the output: the
//     product's inner axis;
//   - free letters of the left operand (q) and of the right one (k), in the
//     output: its rows and its columns.
//
// That covers the equations attention and linear layers are written with
// ("bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd", "bij,bjk->bik", "ij,bjk->bik",
// "bnc,cd->bnd") and a transpose of one operand ("bij->bji"). Anything else —
// more than two operands, an ellipsis, a letter repeated within an operand
// (a diagonal or a trace), a letter summed out of a single operand, sizes
// that broadcast — is refused with the node and its equation.

// einsumTerm is one operand of an equation: its letters, in axis order.
type einsumTerm []byte

func parseEinsum(eq string, operands int) ([]einsumTerm, einsumTerm, bool) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	if strings.Contains(eq, ".") {
		return nil, nil, false
	}
	var terms []einsumTerm
	for _, t := range strings.Split(lhs, ",") {
		terms = append(terms, einsumTerm(t))
	}
	if len(terms) != operands {
		return nil, nil, false
	}
	count := map[byte]int{}
	for _, t := range terms {
		for i, c := range t {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') || slices.Contains(t[:i], c) {
				return nil, nil, false
			}
			count[c]++
		}
	}
	var out einsumTerm
	if explicit {
		out = einsumTerm(rhs)
		for i, c := range out {
			if count[c] == 0 || slices.Contains(out[:i], c) {
				return nil, nil, false
			}
		}
	} else {
		// Implicit output: the letters that occur once, in alphabetical order.
		for c, k := range count {
			if k == 1 {
				out = append(out, c)
			}
		}
		slices.Sort(out)
	}
	return terms, out, true
}

func (im *importer) einsum(n *onnx.Node, name string) (*Value, error) {
	in, err := im.inputs(n, 1, 2)
	if err != nil {
		return nil, err
	}
	eq := attrString(n, "equation", "")
	refuse := func(why string) error {
		return errorf(ErrUnsupported, "Einsum %q with equation %q: %s (advcheck lowers two-operand products such as \"bhqd,bhkd->bhqk\", \"bhqk,bhkd->bhqd\", \"bij,bjk->bik\" and \"ij,bjk->bik\", and transposes)", name, eq, why)
	}
	terms, out, ok := parseEinsum(eq, len(in))
	if !ok {
		return nil, refuse("an ellipsis, a letter repeated within an operand, or an output letter not in the operands")
	}
	for i, t := range terms {
		if len(t) != len(in[i].Shape) {
			return nil, errorf(ErrInvalid, "Einsum %q: operand %d has rank %d, the equation %q gives it %d letters", name, i, len(in[i].Shape), eq, len(t))
		}
	}
	size := map[byte]int{}
	for i, t := range terms {
		for k, c := range t {
			d := in[i].Shape[k]
			if s, seen := size[c]; seen && s != d {
				return nil, refuse("letter " + string(c) + " has sizes " + Shape{s}.String() + " and " + Shape{d}.String())
			}
			size[c] = d
		}
	}
	if len(in) == 1 {
		if len(out) != len(terms[0]) {
			return nil, refuse("it sums over axes of one operand")
		}
		perm := make([]int, len(out))
		for i, c := range out {
			perm[i] = slices.Index(terms[0], c)
		}
		return im.add(name, "Einsum", Transpose{Perm: perm}, nil, in[0])
	}
	a, b := terms[0], terms[1]
	var batch, contracted, freeA, freeB einsumTerm
	for _, c := range out {
		inA, inB := slices.Contains(a, c), slices.Contains(b, c)
		switch {
		case inA && inB, size[c] == Batch:
			batch = append(batch, c)
		case inA:
			freeA = append(freeA, c)
		default:
			freeB = append(freeB, c)
		}
	}
	for _, c := range a {
		if !slices.Contains(out, c) {
			if !slices.Contains(b, c) {
				return nil, refuse("letter " + string(c) + " is summed out of one operand")
			}
			contracted = append(contracted, c)
		}
	}
	for _, c := range b {
		if !slices.Contains(out, c) && !slices.Contains(a, c) {
			return nil, refuse("letter " + string(c) + " is summed out of one operand")
		}
	}
	for _, c := range contracted {
		if size[c] == Batch {
			return nil, refuse("it sums over the batch axis, mixing samples")
		}
	}
	ma, err := im.einsumMatrix(in[0], a, batch, freeA, contracted, name+"/a")
	if err != nil {
		return nil, err
	}
	mb, err := im.einsumMatrix(in[1], b, batch, contracted, freeB, name+"/b")
	if err != nil {
		return nil, err
	}
	var y *Value
	if mb.IsConst() && !ma.IsConst() && len(mb.Shape) == 2 {
		y, err = im.add(name+"/matmul", "Einsum", Dense{}, nil, ma, mb)
	} else {
		y, err = im.add(name+"/matmul", "Einsum", MatMul{}, nil, ma, mb)
	}
	if err != nil {
		return nil, err
	}
	// [batch..., freeA, freeB] → [batch..., freeA letters..., freeB letters...] → out.
	order := append(append(append(einsumTerm(nil), batch...), freeA...), freeB...)
	shape := make(Shape, 0, len(order))
	for _, c := range order {
		shape = append(shape, size[c])
	}
	if y, err = im.reshapeTo(name+"/unflatten", "Einsum", y, shape); err != nil {
		return nil, err
	}
	perm := make([]int, len(out))
	identity := true
	for i, c := range out {
		perm[i] = slices.Index(order, c)
		identity = identity && perm[i] == i
	}
	if identity {
		return y, nil
	}
	return im.add(name, "Einsum", Transpose{Perm: perm}, nil, y)
}

// einsumMatrix transposes operand v (letters t) to [batch..., rows..., cols...]
// and reshapes it to [batch sizes..., Πrows, Πcols], a batch letter v lacks
// as size 1. An operand with no batch letter stays a matrix, which MatMul
// broadcasts (and a constant one makes the product a Dense).
func (im *importer) einsumMatrix(v *Value, t, batch, rows, cols einsumTerm, name string) (*Value, error) {
	var perm []int
	hasBatch := false
	for _, c := range batch {
		if k := slices.Index(t, c); k >= 0 {
			perm = append(perm, k)
			hasBatch = true
		}
	}
	for _, c := range append(append(einsumTerm(nil), rows...), cols...) {
		perm = append(perm, slices.Index(t, c))
	}
	x := v
	var err error
	if !slices.IsSorted(perm) {
		if x, err = im.add(name+"/transpose", "Einsum", Transpose{Perm: perm}, nil, v); err != nil {
			return nil, err
		}
	}
	var shape Shape
	if hasBatch {
		for _, c := range batch {
			if k := slices.Index(t, c); k >= 0 {
				shape = append(shape, v.Shape[k])
			} else {
				shape = append(shape, 1)
			}
		}
	}
	r, c := 1, 1
	for _, l := range rows {
		r *= v.Shape[slices.Index(t, l)]
	}
	for _, l := range cols {
		c *= v.Shape[slices.Index(t, l)]
	}
	shape = append(shape, r, c)
	return im.reshapeTo(name+"/reshape", "Einsum", x, shape)
}
