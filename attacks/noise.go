package attacks

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models"
)

// Noise is a random-noise baseline: Draws samples of noise per input —
// uniform in the eps-ball, or Gaussian with σ = eps per value and then
// projected onto the ball — each clipped to the bounds; a sample counts as
// broken if any draw is misclassified. For unbroken samples the draw with the
// highest cross-entropy is kept. A model that noise breaks as often as the
// gradient attacks is not being attacked at all.
type Noise struct {
	base
	gaussian bool
	norm     Norm
	draws    int
}

func init() {
	for _, g := range []bool{false, true} {
		name, summary := "noise-uniform", "uniform noise in the eps-ball (baseline)"
		if g {
			name, summary = "noise-gaussian", "Gaussian noise with σ = eps, projected onto the eps-ball (baseline)"
		}
		register(name, summary, func() (Attack, *base, func() error) {
			a := &Noise{gaussian: g, draws: 10}
			a.name = name
			a.bind(
				param{name: "norm", doc: "linf or l2", ptr: &a.norm},
				param{name: "draws", doc: "noise samples per input", ptr: &a.draws},
			)
			return a, &a.base, func() error {
				if a.draws < 1 {
					return fmt.Errorf("draws must be positive")
				}
				return nil
			}
		})
	}
}

// Norm implements Attack.
func (a *Noise) Norm() Norm { return a.norm }

// Run implements Attack.
func (a *Noise) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	if err := checkBatch(m, b, adv, eps); err != nil {
		return err
	}
	spec := m.Spec()
	n, size, k := b.Len(), spec.Size(), spec.Classes
	copy(adv, b.X)
	if eps == 0 {
		return nil
	}
	done := make([]bool, n)
	best := make([]float64, n)
	for i := range best {
		best[i] = math.Inf(-1)
	}
	buf := make([]float32, n*size)
	logits := make([]float32, n*k)
	for d := 0; d < a.draws; d++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows := pending(done)
		if len(rows) == 0 {
			break
		}
		for j, i := range rows {
			rng := seeds.Stream(eps, b.Index[i], d)
			xn, xs := buf[j*size:(j+1)*size], b.X[i*size:(i+1)*size]
			if a.gaussian {
				for q := range xn {
					xn[q] = xs[q] + float32(eps*rng.NormFloat64())
				}
				a.norm.Project(xn, xs, eps, spec.Lo, spec.Hi)
			} else {
				a.norm.RandomStart(rng, xn, xs, eps, spec.Lo, spec.Hi)
			}
		}
		na := len(rows)
		if err := m.Logits(ctx, buf[:na*size], na, logits[:na*k]); err != nil {
			return err
		}
		res.addQueries(rows, 1)
		for j, i := range rows {
			row := logits[j*k : (j+1)*k]
			if b.brokenAt(row, i, -1) {
				done[i] = true
				copy(adv[i*size:(i+1)*size], buf[j*size:(j+1)*size])
				continue
			}
			if l := b.lossAt(models.CrossEntropy, row, i, -1); l > best[i] {
				best[i] = l
				copy(adv[i*size:(i+1)*size], buf[j*size:(j+1)*size])
			}
		}
	}
	return nil
}
