package attacks

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models"
)

// Square is the Square attack (Andriushchenko et al. 2020), a
// gradient-free random search, with the settings AutoAttack uses: the margin
// loss, p_init = 0.8, 5,000 queries and the published schedule for the
// fraction p of pixels changed (SquareP). Each iteration proposes, per
// sample, a change inside random s×s windows and keeps the proposal when it
// lowers the loss or misclassifies.
//
// L∞ starts from vertical stripes of ±eps (one sign per channel and column);
// a proposal moves the pixels of one window to ±eps (one random sign per
// channel). L2 starts from a grid of 5×5 windows each holding the
// centred-square pattern η (SquareEta) with a random sign per channel, the
// whole rescaled to L2 norm eps; a proposal (s odd, at least 3) replaces the
// perturbation in one window by its normalised self plus a new ±η, rescaled
// so that it takes the budget of that window, a second window, and what the
// perturbation leaves unused of eps, and empties the second window; the
// result is rescaled to norm eps. L1 (Croce & Hein 2021) does the same with
// the L1 pattern (SquareEtaL1: weights 1/(k+1)⁴, L1 norm 1) and L1 budgets,
// and projects every point onto the intersection of the L1 ball of radius
// eps·(1 − 10⁻⁶) and the box (projectL1Box) instead of rescaling. All follow
// the reference code of AutoAttack (square.py).
//
// Deviation from the reference code, deliberately: windows and signs are
// drawn per sample from the sample's own random stream; the reference draws
// one window and one set of signs per iteration for the whole batch, which
// makes a sample's result depend on its batch-mates.
//
// Square needs no gradient, so it is the check against gradient masking.
type Square struct {
	base
	normName string
	norm     Norm
	queries  int
	pInit    float64
	loss     models.LossKind
	restarts int
}

func init() {
	register("square", "Square attack, L∞, L2 or L1, gradient-free (Andriushchenko et al. 2020)", func() (Attack, *base, func() error) {
		a := &Square{normName: "linf", queries: 5000, pInit: 0.8, loss: models.Margin, restarts: 1}
		a.name = "square"
		a.bind(
			param{name: "norm", doc: "linf, l2 or l1", ptr: &a.normName},
			param{name: "queries", doc: "model queries per sample per restart", ptr: &a.queries},
			param{name: "p_init", doc: "initial fraction of pixels a window covers", ptr: &a.pInit},
			param{name: "loss", doc: "margin or ce (the quantity the search lowers)", ptr: &a.loss},
			param{name: "restarts", doc: "restarts on samples not yet broken", ptr: &a.restarts},
		)
		return a, &a.base, func() error {
			switch a.normName {
			case "linf":
				a.norm = Linf
			case "l2":
				a.norm = L2
			case "l1":
				a.norm = L1
			default:
				return fmt.Errorf("norm=%q: want linf, l2 or l1", a.normName)
			}
			if a.queries < 1 || a.restarts < 1 || a.pInit <= 0 || a.pInit > 1 {
				return fmt.Errorf("queries and restarts must be positive, p_init in (0, 1]")
			}
			if a.loss == models.DLR {
				return fmt.Errorf("loss must be margin or ce")
			}
			return nil
		}
	})
}

// Norm implements Attack.
func (a *Square) Norm() Norm { return a.norm }

// SquareP is the fraction of pixels a window covers at iteration it
// (0-based): p_init halved at iterations 10, 50, 200, 500, 1000, 2000, 4000,
// 6000 and 8000, as published.
func SquareP(it int, pInit float64) float64 {
	switch {
	case it > 8000:
		return pInit / 512
	case it > 6000:
		return pInit / 256
	case it > 4000:
		return pInit / 128
	case it > 2000:
		return pInit / 64
	case it > 1000:
		return pInit / 32
	case it > 500:
		return pInit / 16
	case it > 200:
		return pInit / 8
	case it > 50:
		return pInit / 4
	case it > 10:
		return pInit / 2
	}
	return pInit
}

// squareScore returns the margin z_y − max_{j≠y} z_j (≤ 0 when broken) and
// the loss the search lowers.
func squareScore(kind models.LossKind, row []float32, y int) (margin, loss float64) {
	margin = -lossOf(models.Margin, row, y, -1)
	if kind == models.CrossEntropy {
		return margin, -lossOf(models.CrossEntropy, row, y, -1)
	}
	return margin, margin
}

// score is squareScore for sample i of b; for an output task the margin is
// +Inf (never broken) and the search lowers the negated output loss.
func (a *Square) score(b Batch, row []float32, i int) (margin, loss float64) {
	if b.isOutput() {
		return math.Inf(1), -b.lossAt(a.loss, row, i, -1)
	}
	return squareScore(a.loss, row, b.Labels[i])
}

// Run implements Attack.
func (a *Square) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	if err := checkBatch(m, b, adv, eps); err != nil {
		return err
	}
	spec := m.Spec()
	if len(spec.Shape) != 3 {
		return fmt.Errorf("attacks: square needs C×H×W inputs, the model takes %v", spec.Shape)
	}
	c, h, w := spec.Shape[0], spec.Shape[1], spec.Shape[2]
	n, size, k := b.Len(), spec.Size(), spec.Classes
	copy(adv, b.X)
	if eps == 0 {
		return nil
	}
	done := make([]bool, n)
	bestLoss := make([]float64, n)
	for i := range bestLoss {
		bestLoss[i] = math.Inf(1)
	}
	e := float32(eps)
	sq := &squareL2{c: c, h: h, w: w, eps: eps, lo: spec.Lo, hi: spec.Hi, l1: a.norm == L1}
	for r := 0; r < a.restarts; r++ {
		rows := pending(done)
		if len(rows) == 0 {
			break
		}
		na := len(rows)
		x0 := make([]float32, na*size)
		best := make([]float32, na*size)
		logits := make([]float32, na*k)
		margin := make([]float64, na)
		lossMin := make([]float64, na)
		gather(x0, b.X, rows, size)
		streams := make([]squareRand, na)
		for j, i := range rows {
			rng := seeds.Stream(eps, b.Index[i], r)
			streams[j] = rng
			xb, xs := best[j*size:(j+1)*size], x0[j*size:(j+1)*size]
			if a.norm != Linf {
				sq.initL2(rng, xb, xs)
				continue
			}
			for ch := 0; ch < c; ch++ {
				for col := 0; col < w; col++ {
					s := e
					if rng.IntN(2) == 0 {
						s = -e
					}
					for row := 0; row < h; row++ {
						p := (ch*h+row)*w + col
						xb[p] = xs[p] + s
					}
				}
			}
			Linf.Project(xb, xs, eps, spec.Lo, spec.Hi)
		}
		if err := m.Logits(ctx, best, na, logits); err != nil {
			return err
		}
		res.addQueries(rows, 1)
		active := all(na)
		retire := func() {
			keep := active[:0]
			for _, j := range active {
				if margin[j] <= 0 {
					i := rows[j]
					done[i] = true
					copy(adv[i*size:(i+1)*size], best[j*size:(j+1)*size])
					continue
				}
				keep = append(keep, j)
			}
			active = keep
		}
		for j := range rows {
			margin[j], lossMin[j] = a.score(b, logits[j*k:(j+1)*k], rows[j])
		}
		retire()
		buf := make([]float32, na*size)
		for it := 0; it < a.queries-1 && len(active) > 0; it++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := SquareP(it, a.pInit)
			s := max(int(math.Round(math.Sqrt(p*float64(size)/float64(c)))), 1)
			if a.norm != Linf {
				// The L2 and L1 windows have a centre: odd, at least 3 wide.
				s = max(s, 3)
				if s%2 == 0 {
					s++
				}
			}
			s = min(s, h, w)
			for q, j := range active {
				rng := streams[j]
				if a.norm != Linf {
					sq.propose(rng, s, buf[q*size:(q+1)*size], best[j*size:(j+1)*size], x0[j*size:(j+1)*size])
					continue
				}
				// As in the reference: the window's corner is uniform in [0, h−s) × [0, w−s).
				vh, vw := int(rng.Float64()*float64(h-s)), int(rng.Float64()*float64(w-s))
				xn, xb, xs := buf[q*size:(q+1)*size], best[j*size:(j+1)*size], x0[j*size:(j+1)*size]
				copy(xn, xb)
				for ch := 0; ch < c; ch++ {
					d := 2 * e
					if rng.IntN(2) == 0 {
						d = -d
					}
					for row := vh; row < vh+s; row++ {
						for col := vw; col < vw+s; col++ {
							xn[(ch*h+row)*w+col] += d
						}
					}
				}
				Linf.Project(xn, xs, eps, spec.Lo, spec.Hi)
			}
			nb := len(active)
			if err := m.Logits(ctx, buf[:nb*size], nb, logits[:nb*k]); err != nil {
				return err
			}
			sub := make([]int, nb)
			for q, j := range active {
				sub[q] = rows[j]
			}
			res.addQueries(sub, 1)
			for q, j := range active {
				mg, l := a.score(b, logits[q*k:(q+1)*k], rows[j])
				improved := l < lossMin[j]
				if improved {
					lossMin[j] = l
				}
				if improved || mg <= 0 {
					margin[j] = mg
					copy(best[j*size:(j+1)*size], buf[q*size:(q+1)*size])
				}
			}
			retire()
		}
		for _, j := range active {
			i := rows[j]
			if lossMin[j] < bestLoss[i] {
				bestLoss[i] = lossMin[j]
				copy(adv[i*size:(i+1)*size], best[j*size:(j+1)*size])
			}
		}
	}
	return nil
}

type squareRand interface {
	Float64() float64
	IntN(int) int
}

// squareL2 builds the L2 (or, with l1, the L1) Square attack's
// perturbations for C×H×W samples in [lo, hi] at radius eps.
type squareL2 struct {
	c, h, w      int
	eps, lo, hi  float64
	l1           bool
	etas         map[int][2][]float64 // SquareEta(s) (l1: SquareEtaL1(s)) and its transpose
	delta, patch []float64
	proj         []float64
}

// SquareEta is the s×s pattern of the L2 Square attack (the reference's
// eta): the upper ⌊s/2⌋ rows hold a centred stack of squares, the value at a
// pixel Σ 1/(k+1)² over the k-th squares that cover it, the lower rows the
// same pattern negated; the whole has L2 norm 1. Row-major.
func SquareEta(s int) []float64 { return squareEta(s, false) }

// SquareEtaL1 is the s×s pattern of the L1 Square attack: as SquareEta with
// the weights 1/(k+1)⁴ and L1 norm 1, as the reference's eta for norm='L1'.
func SquareEtaL1(s int) []float64 { return squareEta(s, true) }

func squareEta(s int, l1 bool) []float64 {
	out := make([]float64, s*s)
	top := squareRect(s/2, s, l1)
	bottom := squareRect(s-s/2, s, l1)
	copy(out, top)
	for i, v := range bottom {
		out[(s/2)*s+i] = -v
	}
	if l1 {
		normaliseL1(out)
	} else {
		normalise(out)
	}
	return out
}

// squareRect is the reference's eta_rectangles(x, y): x×y, row-major, L2
// norm 1 (L1: weights 1/(k+1)⁴, L1 norm 1; zero when empty).
func squareRect(x, y int, l1 bool) []float64 {
	d := make([]float64, x*y)
	xc, yc := x/2+1, y/2+1
	c0, c1 := xc-1, yc-1
	for k := 0; k < max(xc, yc); k++ {
		v := 1 / float64((k+1)*(k+1))
		if l1 {
			v *= v
		}
		for r := max(c0, 0); r < min(c0+2*k+1, x); r++ {
			for col := max(c1, 0); col < min(c1+2*k+1, y); col++ {
				d[r*y+col] += v
			}
		}
		c0--
		c1--
	}
	if l1 {
		normaliseL1(d)
	} else {
		normalise(d)
	}
	return d
}

func normaliseL1(d []float64) {
	s := 0.0
	for _, v := range d {
		s += math.Abs(v)
	}
	if s > 0 {
		for i := range d {
			d[i] /= s
		}
	}
}

func normalise(d []float64) {
	s := 0.0
	for _, v := range d {
		s += v * v
	}
	if s = math.Sqrt(s); s > 0 {
		for i := range d {
			d[i] /= s
		}
	}
}

// eta returns SquareEta(s), transposed with probability ½ as in the
// reference.
func (q *squareL2) eta(rng squareRand, s int) []float64 {
	if q.etas == nil {
		q.etas = map[int][2][]float64{}
	}
	e, ok := q.etas[s]
	if !ok {
		e[0] = squareEta(s, q.l1)
		e[1] = make([]float64, s*s)
		for r := 0; r < s; r++ {
			for c := 0; c < s; c++ {
				e[1][c*s+r] = e[0][r*s+c]
			}
		}
		q.etas[s] = e
	}
	if rng.Float64() > 0.5 {
		return e[1]
	}
	return e[0]
}

func (q *squareL2) sign(rng squareRand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// apply writes x + eps·δ/‖δ‖₂ into out, clipped to the bounds; for L1,
// x + δ projected onto the L1 ball of radius eps·(1 − 10⁻⁶) inside the
// bounds, as the reference does.
func (q *squareL2) apply(out, x []float32) {
	if q.l1 {
		for i, v := range q.delta {
			out[i] = float32(float64(x[i]) + v)
		}
		q.proj = resize(q.proj, 2*len(x))
		projectL1Box(out, x, q.eps*(1-1e-6), q.lo, q.hi, q.proj)
		return
	}
	s := 0.0
	for _, v := range q.delta {
		s += v * v
	}
	f := q.eps / (math.Sqrt(s) + 1e-12)
	for i, v := range q.delta {
		out[i] = float32(min(max(float64(x[i])+v*f, q.lo), q.hi))
	}
}

// initL2 writes the start point: a grid of ⌊h/5⌋-wide windows, each η times
// a random sign per channel.
func (q *squareL2) initL2(rng squareRand, out, x []float32) {
	c, h, w := q.c, q.h, q.w
	q.delta = resize(q.delta, len(x))
	clear(q.delta)
	s := max(h/5, 1)
	sp := (h - 5*s) / 2
	for bh, vh := 0, sp; bh < h/s; bh, vh = bh+1, vh+s {
		for bw, vw := 0, sp; bw < w/s; bw, vw = bw+1, vw+s {
			eta := q.eta(rng, s)
			for ch := 0; ch < c; ch++ {
				g := q.sign(rng)
				for r := 0; r < s && vh+r < h; r++ {
					for col := 0; col < s && vw+col < w; col++ {
						q.delta[(ch*h+vh+r)*w+vw+col] += g * eta[r*s+col]
					}
				}
			}
		}
	}
	q.apply(out, x)
}

// propose writes into out a proposal from best (the current point) around
// the clean x with windows of side s.
func (q *squareL2) propose(rng squareRand, s int, out, best, x []float32) {
	c, h, w := q.c, q.h, q.w
	q.delta = resize(q.delta, len(x))
	q.patch = resize(q.patch, s*s)
	total := 0.0 // ‖δ‖₂² (L1: ‖δ‖₁)
	for i := range x {
		d := float64(best[i]) - float64(x[i])
		q.delta[i] = d
		if q.l1 {
			total += math.Abs(d)
		} else {
			total += d * d
		}
	}
	vh, vw := int(rng.Float64()*float64(h-s)), int(rng.Float64()*float64(w-s))
	vh2, vw2 := int(rng.Float64()*float64(h-s)), int(rng.Float64()*float64(w-s))
	eta := q.eta(rng, s)
	in2 := func(r, col int) bool { return r >= vh2 && r < vh2+s && col >= vw2 && col < vw2+s }
	left := math.Max(q.eps*q.eps-total, 0) / float64(c) // the unused budget, per channel
	if q.l1 {
		left = math.Max(q.eps-total, 0) / float64(c)
	}
	for ch := 0; ch < c; ch++ {
		at := func(r, col int) int { return (ch*h+r)*w + col }
		n1, nu := 0.0, 0.0 // window 1, and windows 1 ∪ 2 (‖·‖₂², L1: ‖·‖₁)
		for r := 0; r < h; r++ {
			for col := 0; col < w; col++ {
				i1 := r >= vh && r < vh+s && col >= vw && col < vw+s
				if i1 || in2(r, col) {
					v := q.delta[at(r, col)]
					if q.l1 {
						v = math.Abs(v)
					} else {
						v *= v
					}
					nu += v
					if i1 {
						n1 += v
					}
				}
			}
		}
		if !q.l1 {
			n1, nu = math.Sqrt(n1), math.Sqrt(nu)
		}
		g := q.sign(rng)
		pn := 0.0
		for r := 0; r < s; r++ {
			for col := 0; col < s; col++ {
				v := eta[r*s+col]*g + q.delta[at(vh+r, vw+col)]/(1e-12+n1)
				q.patch[r*s+col] = v
				if q.l1 {
					pn += math.Abs(v)
				} else {
					pn += v * v
				}
			}
		}
		f := math.Sqrt(left+nu*nu) / (1e-12 + math.Sqrt(pn))
		if q.l1 {
			// As the reference: the channel's share times the channels.
			f = (left + nu) * float64(c) / (1e-12 + pn)
		}
		for r := vh2; r < vh2+s; r++ {
			for col := vw2; col < vw2+s; col++ {
				q.delta[at(r, col)] = 0
			}
		}
		for r := 0; r < s; r++ {
			for col := 0; col < s; col++ {
				q.delta[at(vh+r, vw+col)] = q.patch[r*s+col] * f
			}
		}
	}
	q.apply(out, x)
}

func resize(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	return v[:n]
}
