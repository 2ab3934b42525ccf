package attacks

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models"
)

// Square is the L∞ Square attack (Andriushchenko et al. 2020), a
// gradient-free random search, with the settings AutoAttack uses: the margin
// loss, p_init = 0.8, 5,000 queries, a start of vertical stripes of ±eps (one
// sign per channel and column), and the published schedule for the fraction
// p of pixels changed (SquareP). Each iteration proposes, per sample, a
// random s×s window whose pixels move to ±eps (one random sign per channel)
// and keeps the proposal when it lowers the loss or misclassifies.
//
// Deviation from the reference code, deliberately: windows and signs are
// drawn per sample from the sample's own random stream; the reference draws
// one window and one set of signs per iteration for the whole batch, which
// makes a sample's result depend on its batch-mates.
//
// Square needs no gradient, so it is the check against gradient masking.
type Square struct {
	base
	queries  int
	pInit    float64
	loss     models.LossKind
	restarts int
}

func init() {
	register("square", "Square attack, L∞, gradient-free (Andriushchenko et al. 2020)", func() (Attack, *base, func() error) {
		a := &Square{queries: 5000, pInit: 0.8, loss: models.Margin, restarts: 1}
		a.name = "square"
		a.bind(
			param{name: "queries", doc: "model queries per sample per restart", ptr: &a.queries},
			param{name: "p_init", doc: "initial fraction of pixels a window covers", ptr: &a.pInit},
			param{name: "loss", doc: "margin or ce (the quantity the search lowers)", ptr: &a.loss},
			param{name: "restarts", doc: "restarts on samples not yet broken", ptr: &a.restarts},
		)
		return a, &a.base, func() error {
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
func (a *Square) Norm() Norm { return Linf }

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
		streams := make([]interface {
			Float64() float64
			IntN(int) int
		}, na)
		for j, i := range rows {
			rng := seeds.Stream(eps, b.Index[i], r)
			streams[j] = rng
			xb, xs := best[j*size:(j+1)*size], x0[j*size:(j+1)*size]
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
			s = min(s, h, w)
			for q, j := range active {
				rng := streams[j]
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
