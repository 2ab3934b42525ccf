package attacks

import (
	"math"
	"sort"
)

// The projections of FAB (Croce & Hein 2020, "Minimally distorted
// adversarial examples with a fast adaptive boundary attack", §3.1): for a
// point t, the hyperplane {z : ⟨w, z⟩ = b} and the box [lo, hi]^d, the
// smallest perturbation δ in the norm such that ⟨w, t + δ⟩ = b and
// t + δ ∈ [lo, hi]^d. When the box does not allow reaching the hyperplane, δ
// is the box-feasible move that gets closest to it (every coordinate at the
// bound that lowers |⟨w, t + δ⟩ − b|). Each follows the authors' reference
// code (fab_projections.py) step by step, in float64, with the box [0, 1]
// generalised to [lo, hi]; coordinates with w = 0 (|w| < 1e-8 for L2 and L1)
// never move.

// fabProjectLinf writes into d the L∞ projection.
func fabProjectLinf(d, t, w []float32, b, lo, hi float64, sc *fabScratch) {
	n := len(t)
	ws, p, dd := sc.f64(0, n), sc.f64(1, n), sc.f64(2, n)
	// Orient the hyperplane so that ⟨w, t⟩ − b ≥ 0: δ must lower ⟨w, ·⟩.
	dot := 0.0
	for i := range t {
		dot += float64(w[i]) * float64(t[i])
	}
	sign := 1.0
	if dot-b < 0 {
		sign = -1
	}
	b *= sign
	b0 := 0.0 // ⟨w, δ⟩ with every coordinate at its bound: the lowest reachable
	for i := range t {
		wi := float64(w[i]) * sign
		ws[i] = wi
		ti := float64(t[i])
		switch {
		case wi < 0:
			dd[i], p[i] = hi-ti, hi-ti
		case wi > 0:
			dd[i], p[i] = lo-ti, ti-lo
		default:
			dd[i], p[i] = 0, ti-lo
		}
		b0 += wi * dd[i]
	}
	b -= sign * dot // the change of ⟨w, ·⟩ needed (≤ 0)
	// Coordinates in decreasing order of their room p: with radius λ those
	// with p ≤ λ sit at their bound, the others move by λ.
	idx := sc.ints(n)
	sort.SliceStable(idx, func(a, c int) bool { return p[idx[a]] < p[idx[c]] })
	// s[k] = Σ|w| and sb[k] = b0 − Σ w·δ over the k+1 largest rooms.
	s, sb := sc.f64(3, n), sc.f64(4, n)
	cs, csb := 0.0, b0
	for k := 0; k < n; k++ {
		i := idx[n-1-k]
		cs += math.Abs(ws[i])
		csb += -ws[i] * dd[i]
		s[k], sb[k] = cs, csb
	}
	for i := range d {
		d[i] = 0
	}
	if n == 0 {
		return
	}
	pmin := p[idx[0]]
	switch {
	case b-(sb[n-1]-s[n-1]*pmin) > 0:
		// λ below the smallest room: every coordinate moves by λ.
		l := math.Max((b-sb[n-1])/(-s[n-1]), 0)
		for i := range d {
			if ws[i] != 0 {
				if ws[i] < 0 {
					d[i] = float32(l)
				} else {
					d[i] = float32(-l)
				}
			}
		}
	case b-b0 > 0:
		lb, ub := 0.0, float64(n-1)
		for it := 0; it < int(math.Ceil(math.Log2(float64(n)))); it++ {
			c := math.Floor((lb + ub) / 2)
			k := int(c)
			i := idx[n-1-k]
			if b-(sb[k]-s[k]*p[i]) > 0 {
				lb = c
			} else {
				ub = c
			}
		}
		k := int(lb)
		l := math.Max((b-sb[k])/(-s[k]), 0)
		for i := range d {
			switch {
			case ws[i] < 0:
				d[i] = float32(math.Min(l, dd[i]))
			case ws[i] > 0:
				d[i] = float32(math.Max(-l, dd[i]))
			}
		}
	default:
		// Out of reach: every coordinate at its bound.
		for i := range d {
			if ws[i] != 0 {
				d[i] = float32(dd[i])
			}
		}
	}
}

// fabProjectL2 writes into d the L2 projection: δ = −λ·w on the coordinates
// not yet at a bound, each coordinate stopping at its bound.
func fabProjectL2(d, t, w []float32, b, lo, hi float64, sc *fabScratch) {
	n := len(t)
	const big = 1e12
	ws, r := sc.f64(0, n), sc.f64(1, n)
	c := -b
	for i := range t {
		c += float64(w[i]) * float64(t[i])
	}
	sign := 1.0
	if c < 0 {
		sign = -1
	}
	c *= sign
	for i := range t {
		wi := float64(w[i]) * sign
		ws[i] = wi
		ti := float64(t[i])
		// λ at which coordinate i reaches its bound moving along −w.
		ri := math.Max((ti-lo)/wi, (ti-hi)/wi)
		if math.IsNaN(ri) {
			ri = big
		}
		ri = min(max(ri, -big), big)
		if math.Abs(wi) < 1e-8 || ri == -big {
			ri = big
		}
		r[i] = ri
	}
	idx := sc.ints(n)
	sort.SliceStable(idx, func(a, q int) bool { return r[idx[a]] < r[idx[q]] })
	rs, rs2 := sc.f64(2, n), sc.f64(3, n)
	for k := 0; k < n; k++ {
		rs[k] = r[idx[k]]
		rs2[k] = 0
		if k+1 < n {
			rs2[k] = r[idx[k+1]]
		}
	}
	for k := 0; k < n; k++ {
		if rs[k] == big {
			rs[k] = 0
		}
		if rs2[k] == big {
			rs2[k] = 0
		}
	}
	w5 := 0.0
	for _, v := range ws {
		w5 += v * v
	}
	// wsum[k]: Σw² over the coordinates not at a bound after the k+1 first.
	wsum, s := sc.f64(4, n), sc.f64(5, n+1)
	acc := 0.0
	for k := 0; k < n; k++ {
		acc += ws[idx[k]] * ws[idx[k]]
		wsum[k] = w5 - acc
	}
	s[0] = -w5 * rs[0]
	acc = 0
	for k := 0; k < n; k++ {
		acc += (-rs2[k] + rs[k]) * wsum[k]
		s[k+1] = acc - w5*rs[0]
	}
	full := 0.0 // ⟨δ, w⟩ with every coordinate at its bound
	for i := range d {
		v := 0.0
		if math.Abs(ws[i]) > 1e-8 {
			v = -r[i] * ws[i]
		}
		d[i] = float32(v)
		full += v * ws[i]
	}
	switch {
	case s[0]+c < 0:
		alpha := c / w5
		for i := range d {
			if math.Abs(ws[i]) > 1e-8 {
				d[i] = float32(-alpha * ws[i])
			}
		}
	case full+c > 0:
		// Out of reach: every coordinate at its bound (d as set).
	default:
		lb, ub := 0.0, float64(n-1)
		for it := 0; it < int(math.Ceil(math.Log2(float64(n)))); it++ {
			cc := math.Floor((lb + ub) / 2)
			if s[int(cc)]+c > 0 {
				lb = cc
			} else {
				ub = cc
			}
		}
		k := int(lb)
		alpha := 0.0
		if wsum[k] != 0 {
			alpha = (s[k]+c)/wsum[k] + rs[k]
		}
		for i := range d {
			if math.Abs(ws[i]) <= 1e-8 {
				d[i] = 0
				continue
			}
			if !(alpha > r[i]) {
				d[i] = float32(-alpha * ws[i])
			}
		}
	}
}

// fabProjectL1 writes into d the L1 projection: the coordinates with the
// largest |w| move to their bounds first, one of them partially.
func fabProjectL1(d, t, w []float32, b, lo, hi float64, sc *fabScratch) {
	n := len(t)
	ws, r := sc.f64(0, n), sc.f64(1, n)
	c := -b
	for i := range t {
		c += float64(w[i]) * float64(t[i])
	}
	sign := 1.0
	if c < 0 {
		sign = -1
	}
	c *= sign
	full := sc.f64(2, n)
	for i := range t {
		wi := float64(w[i]) * sign
		ws[i] = wi
		r[i] = math.Min(math.Abs(1/wi), 1e12)
		ti := float64(t[i])
		switch {
		case wi < 0:
			full[i] = hi - ti
		case wi > 0:
			full[i] = lo - ti
		default:
			full[i] = 0
		}
	}
	idx := sc.ints(n)
	sort.SliceStable(idx, func(a, q int) bool { return r[idx[a]] < r[idx[q]] })
	// s[k] = c + ⟨w, δ⟩ over the k coordinates of largest |w| at their bounds.
	s := sc.f64(3, n+1)
	s[0] = c
	for k := 0; k < n; k++ {
		i := idx[k]
		ti := float64(t[i])
		s[k+1] = s[k] + math.Min(-ws[i]*(ti-lo), ws[i]*(hi-ti))
	}
	for i := range d {
		d[i] = float32(full[i])
	}
	if s[n] < 0 {
		lb, ub := 0.0, float64(n+1)
		for it := 0; it < int(math.Ceil(math.Log2(float64(n)))); it++ {
			cc := math.Floor((lb + ub) / 2)
			if s[int(cc)] > 0 {
				lb = cc
			} else {
				ub = cc
			}
		}
		k := int(lb)
		for rank, i := range idx {
			if rank >= k {
				d[i] = 0
			}
		}
		i := idx[k]
		d[i] = float32(-s[k] / ws[i])
	}
	for i := range d {
		if math.Abs(float64(w[i])) <= 1e-8 {
			d[i] = 0
		}
	}
}

// fabScratch holds the projections' work buffers, reused across calls.
type fabScratch struct {
	f   [6][]float64
	idx []int
}

func (s *fabScratch) f64(slot, n int) []float64 {
	if cap(s.f[slot]) < n {
		s.f[slot] = make([]float64, n)
	}
	return s.f[slot][:n]
}

// ints returns 0, 1, …, n−1.
func (s *fabScratch) ints(n int) []int {
	if cap(s.idx) < n {
		s.idx = make([]int, n)
	}
	s.idx = s.idx[:n]
	for i := range s.idx {
		s.idx[i] = i
	}
	return s.idx
}
