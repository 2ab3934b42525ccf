package attacks

import (
	"math"
	"slices"
	"sort"
)

// APGD for L1 (Croce & Hein 2021, "Mind the box: l1-APGD for sparse
// adversarial attacks on image classifiers"), as the authors' reference code
// (autopgd_base.py) runs it: each step moves the coordinates holding the
// largest topk fraction of |∇| by η/(their number) along sign(∇) and
// projects onto the intersection of the L1 ball and the box (projectL1Box);
// every max(⌊0.04·N⌋, 1) iterations a checkpoint compares the number of
// nonzero coordinates of the best point so far with the last checkpoint's:
// when it fell below 95 %, η goes back to eps and the iterate to the best
// point, else η /= 1.5 (η stays in [eps/10, eps]); topk becomes that number
// over 1.5·n. There is no momentum.

// l1Schedule is the per-sample state of APGD-L1's sparsity schedule.
type l1Schedule struct {
	n     int       // coordinates per sample
	every int       // iterations between checkpoints
	eps   float64   // the phase's radius: η lies in [eps/10, eps]
	eta   []float64 // initial step per position
	topk  []float32 // fraction of coordinates the next step moves
	spOld []float64 // nonzero coordinates of the best point at the last checkpoint
	mag   []float32 // scratch: |∇| sorted
	proj  []float64 // scratch for projectL1Box
}

// newL1Schedule starts the schedule of na positions of n coordinates. From a
// given start (fromStart; the reference's x_init) topk is the start's
// fraction of nonzero coordinates over 1.5, else 20 %.
func newL1Schedule(na, n int, ph apgdPhase, fromStart bool, x, x0 []float32) *l1Schedule {
	s := &l1Schedule{n: n, every: max(int(0.04*float64(ph.iters)), 1), eps: ph.eps,
		eta: make([]float64, na), topk: make([]float32, na), spOld: make([]float64, na),
		mag: make([]float32, n), proj: make([]float64, 2*n)}
	for j := range s.eta {
		s.eta[j] = ph.eps
		if fromStart {
			sp := nonzeroDiff(x[j*n:(j+1)*n], x0[j*n:(j+1)*n])
			s.topk[j] = float32(sp) / float32(n) / 1.5
			s.spOld[j] = float64(sp)
		} else {
			s.topk[j] = 0.2
			s.spOld[j] = float64(n)
		}
	}
	return s
}

// nonzeroDiff counts the coordinates where a and b differ.
func nonzeroDiff(a, b []float32) int {
	c := 0
	for i, v := range a {
		if v != b[i] {
			c++
		}
	}
	return c
}

// step moves x (position j) by eta/c along sign(g) on the c coordinates whose
// |g| is at least the (1 − topk) quantile of |g|, as the reference selects
// them (ties at the threshold move too; zero gradients do not).
func (s *l1Schedule) step(x, g []float32, j int, eta float64) {
	for i, v := range g {
		s.mag[i] = float32(math.Abs(float64(v)))
	}
	slices.Sort(s.mag)
	at := min(max((1-s.topk[j])*float32(s.n), 0), float32(s.n-1))
	thr := s.mag[int(at)]
	c := 0
	for _, v := range g {
		if v != 0 && float32(math.Abs(float64(v))) >= thr {
			c++
		}
	}
	if c == 0 {
		return
	}
	d := float32(eta / (float64(c) + 1e-10))
	for i, v := range g {
		if v == 0 || float32(math.Abs(float64(v))) < thr {
			continue
		}
		if v > 0 {
			x[i] += d
		} else {
			x[i] -= d
		}
	}
}

// check is the checkpoint of position j with its best point so far: it
// updates topk and eta[j] and reports whether the iterate should go back to
// the best point.
func (s *l1Schedule) check(j int, best, x0 []float32, eta []float64) bool {
	sp := float64(nonzeroDiff(best, x0))
	back := sp/s.spOld[j] < 0.95
	s.topk[j] = float32(sp) / float32(s.n) / 1.5
	if back {
		eta[j] = s.eps
	} else {
		eta[j] /= 1.5
	}
	eta[j] = min(max(eta[j], s.eps/10), s.eps)
	s.spOld[j] = sp
	return back
}

// projectL1Box moves adv (one sample) to the closest point, in L2, of the
// intersection of the L1 ball of radius eps around x and the box [lo, hi]
// (x in the box): each coordinate of d = adv − x keeps its sign and gets the
// magnitude max(0, min(|d_i| − λ, c_i)), c_i = |d_i| clipped to the box,
// with λ ≥ 0 the smallest value that brings the L1 norm to at most eps. As
// L1_projection of the APGD-L1 reference code, which finds the same λ by
// bisection over the sorted breakpoints. buf, if not nil, holds at least
// 2·len(adv) values of scratch.
func projectL1Box(adv, x []float32, eps, lo, hi float64, buf []float64) {
	n := len(adv)
	if len(buf) < 2*n {
		buf = make([]float64, 2*n)
	}
	// down[i] = |d_i| − c_i, where coordinate i starts to shrink as λ grows;
	// up[i] = |d_i|, where it reaches 0.
	down, up := buf[:n], buf[n:2*n]
	total := 0.0
	for i, v := range adv {
		d := float64(v) - float64(x[i])
		m, c := math.Abs(d), l1BoxRoom(d, float64(x[i]), lo, hi)
		c = math.Min(m, c)
		total += c
		down[i], up[i] = m-c, m
	}
	lam := 0.0
	if total > eps {
		if eps <= 0 {
			copy(adv, x)
			return
		}
		// f(λ) = Σ max(0, min(|d_i| − λ, c_i)) falls from total at λ = 0
		// to 0, piecewise linearly: walk its breakpoints to eps.
		sort.Float64s(down)
		sort.Float64s(up)
		f, slope := total, 0.0
		lam = up[n-1]
		for i, k, at := 0, 0, 0.0; i < n || k < n; {
			var p, ds float64
			if k >= n || (i < n && down[i] <= up[k]) {
				p, ds = down[i], -1
				i++
			} else {
				p, ds = up[k], 1
				k++
			}
			if p > at {
				fp := f + slope*(p-at)
				if fp <= eps {
					lam = at + (eps-f)/slope
					break
				}
				f, at = fp, p
			}
			slope += ds
		}
	}
	l, h := float32(lo), float32(hi)
	for i, v := range adv {
		d := float64(v) - float64(x[i])
		m := math.Max(0, math.Min(math.Abs(d)-lam, l1BoxRoom(d, float64(x[i]), lo, hi)))
		adv[i] = min(max(float32(float64(x[i])+math.Copysign(m, d)), l), h)
	}
}

// l1BoxRoom is how far x may move in d's direction inside [lo, hi].
func l1BoxRoom(d, x, lo, hi float64) float64 {
	if d > 0 {
		return math.Max(hi-x, 0)
	}
	return math.Max(x-lo, 0)
}
