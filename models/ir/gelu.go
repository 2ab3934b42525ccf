package ir

import "math"

// fuseGelu recognises the exact GELU that exporters without a Gelu op emit
// (PyTorch before opset 20):
//
//	t = x / √2 (or x · 1/√2), a = Erf(t) + 1, y = x · a · 0.5
//
// with the two products in any order and association, and replaces it with
// one Gelu node when nothing outside the pattern reads its intermediate
// values. The fused node computes 0.5·x·(1 + erf(x/√2)) in one pass with the
// exact √2 (the exporter's constant is √2 rounded to float32, 1.7e-8 away),
// and keeps only x for the backward pass where the unfused form kept x, t
// and a.
func (g *Graph) fuseGelu() {
	rd := g.readers()
	changed := false
	for _, n := range g.Nodes {
		if x, ok := geluPattern(n, rd); ok {
			n.Op = Unary{Func: Gelu}
			n.Inputs = []*Value{x}
			n.Source = "Gelu (fused)"
			changed = true
		}
	}
	if changed {
		g.prune()
	}
}

// readers counts the reads of each value, the graph output counting as one.
func (g *Graph) readers() map[*Value]int {
	r := map[*Value]int{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			r[v]++
		}
	}
	r[g.Output]++
	return r
}

// isBinary reports whether n is the binary operation op on two inputs.
func isBinary(n *Node, op BinaryKind) bool {
	b, ok := n.Op.(Binary)
	return ok && b.Op == op && len(n.Inputs) == 2
}

// scalarConst reports whether v is a one-element constant of rank at most
// rank equal to want, within tol relative.
func scalarConst(v *Value, rank int, want, tol float64) bool {
	if !v.IsConst() || v.Const.Len() != 1 || v.Const.Int || len(v.Shape) > rank {
		return false
	}
	return math.Abs(v.Const.Float64s()[0]-want) <= tol*want
}

// geluPattern reports whether n is the last product of an unfused exact GELU
// and returns the GELU's input.
func geluPattern(n *Node, rd map[*Value]int) (*Value, bool) {
	if !isBinary(n, Mul) {
		return nil, false
	}
	// The three factors x, a and 0.5: n multiplies two of them, one being
	// the product of the other two.
	for i := range 2 {
		inner, other := n.Inputs[i], n.Inputs[1-i]
		p := inner.Producer
		if p == nil || !isBinary(p, Mul) || rd[inner] != 1 {
			continue
		}
		f := [3]*Value{p.Inputs[0], p.Inputs[1], other}
		for h := range 3 { // f[h] is 0.5
			for k := range 3 { // f[k] is a; the remaining factor is x
				if k == h {
					continue
				}
				x := f[3-h-k]
				if x.IsConst() || !scalarConst(f[h], len(x.Shape), 0.5, 0) || !n.Output.Shape.Equal(x.Shape) {
					continue
				}
				if geluSum(f[k], x, rd) {
					return x, true
				}
			}
		}
	}
	return nil, false
}

// geluSum reports whether a = Erf(x/√2) + 1 (or 1 + Erf(x·1/√2)) with each
// intermediate value read once.
func geluSum(a, x *Value, rd map[*Value]int) bool {
	add := a.Producer
	if add == nil || rd[a] != 1 || !isBinary(add, Add) {
		return false
	}
	e, one := add.Inputs[0], add.Inputs[1]
	if e.IsConst() {
		e, one = one, e
	}
	if !scalarConst(one, len(x.Shape), 1, 0) || rd[e] != 1 {
		return false
	}
	erf := e.Producer
	if erf == nil || len(erf.Inputs) != 1 {
		return false
	}
	if u, ok := erf.Op.(Unary); !ok || u.Func != Erf {
		return false
	}
	t := erf.Inputs[0]
	sc := t.Producer
	if sc == nil || rd[t] != 1 || len(sc.Inputs) != 2 {
		return false
	}
	// √2 as a float32 is within 2⁻²⁴ relative of √2.
	const tol = 0x1p-23
	switch {
	case isBinary(sc, Div):
		return sc.Inputs[0] == x && scalarConst(sc.Inputs[1], len(x.Shape), math.Sqrt2, tol)
	case isBinary(sc, Mul):
		c := sc.Inputs[1]
		if sc.Inputs[0] != x {
			if sc.Inputs[1] != x {
				return false
			}
			c = sc.Inputs[0]
		}
		return scalarConst(c, len(x.Shape), 1/math.Sqrt2, tol)
	}
	return false
}
