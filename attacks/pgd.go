package attacks

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models"
)

// PGD is projected gradient descent on the attack loss (Madry et al. 2018):
// from a uniformly random start in the eps-ball, Steps steps of size α along
// sign(∇) (L∞) or ∇/‖∇‖₂ (L2), each followed by projection onto the ball and
// the bounds. α = RelStep·eps/Steps unless Step gives it absolutely, so a
// sweep measures the model rather than a fixed step. With Restarts > 1 every
// sample not yet broken is attacked again from a new random start, keeping
// per sample the first adversarial point found, else the point of highest
// loss. A sample stops as soon as an iterate is adversarial (its result is
// that iterate).
//
// BIM (Kurakin et al. 2017, "I-FGSM") is the same iteration started at the
// clean input.
type PGD struct {
	base
	norm        Norm
	steps       int
	relStep     float64
	step        float64
	randomStart bool
	restarts    int
	loss        models.LossKind
	target      string
}

func newPGD(name string, randomStart bool, steps int) (Attack, *base, func() error) {
	a := &PGD{steps: steps, relStep: 2.5, randomStart: randomStart, restarts: 1}
	a.name = name
	a.bind(
		param{name: "norm", doc: "linf or l2", ptr: &a.norm},
		param{name: "steps", doc: "iterations", ptr: &a.steps},
		param{name: "rel_step", doc: "step size as a multiple of eps/steps (used when step=0)", ptr: &a.relStep},
		param{name: "step", doc: "absolute step size in pixel units (0: use rel_step)", ptr: &a.step},
		param{name: "random_start", doc: "start from a uniformly random point of the eps-ball", ptr: &a.randomStart},
		param{name: "restarts", doc: "attempts per sample; each new one only on samples not yet broken", ptr: &a.restarts},
		param{name: "loss", doc: "ce, margin or dlr", ptr: &a.loss},
		param{name: "target", doc: "untargeted when empty; else random, ll (least likely), next or a class number", ptr: &a.target},
	)
	return a, &a.base, func() error {
		if a.steps < 1 || a.restarts < 1 || a.relStep <= 0 || a.step < 0 {
			return fmt.Errorf("steps, restarts and rel_step must be positive, step ≥ 0")
		}
		return validTarget(a.target)
	}
}

func init() {
	register("pgd", "projected gradient descent from a random start (Madry et al. 2018)", func() (Attack, *base, func() error) {
		return newPGD("pgd", true, 10)
	})
	register("bim", "basic iterative method / I-FGSM (Kurakin et al. 2017): PGD from the clean input", func() (Attack, *base, func() error) {
		return newPGD("bim", false, 10)
	})
}

// Norm implements Attack.
func (a *PGD) Norm() Norm { return a.norm }

func (a *PGD) alpha(eps float64) float64 {
	if a.step > 0 {
		return a.step
	}
	return a.relStep * eps / float64(a.steps)
}

// Run implements Attack.
func (a *PGD) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	if err := checkBatch(m, b, adv, eps); err != nil {
		return err
	}
	targets, err := chooseTargets(ctx, m, b, a.target, seeds, eps, res)
	if err != nil {
		return err
	}
	it := iteration{norm: a.norm, steps: a.steps, alpha: a.alpha(eps), randomStart: a.randomStart,
		restarts: a.restarts, loss: a.loss}
	return it.run(ctx, m, b, targets, eps, seeds, adv, res)
}

// iteration is the loop shared by BIM, PGD and MI-FGSM.
type iteration struct {
	norm        Norm
	steps       int
	alpha       float64
	randomStart bool
	restarts    int
	loss        models.LossKind
	momentum    bool    // MI-FGSM: step along the accumulated L1-normalised gradient
	decay       float64 // MI-FGSM's μ
}

func (it iteration) run(ctx context.Context, m models.Model, b Batch, targets []int, eps float64, seeds Seeds, adv []float32, res *Result) error {
	spec := m.Spec()
	n, size, k := b.Len(), spec.Size(), spec.Classes
	copy(adv, b.X)
	if eps == 0 {
		return nil
	}
	done := make([]bool, n)
	bestLoss := make([]float64, n)
	for i := range bestLoss {
		bestLoss[i] = math.Inf(-1)
	}
	cur := make([]float32, n*size) // row k is the iterate of sample rows[k]
	x0 := make([]float32, n*size)
	grad := make([]float32, n*size)
	mom := make([]float32, n*size)
	logits := make([]float32, n*k)
	for r := 0; r < it.restarts; r++ {
		rows := pending(done)
		if len(rows) == 0 {
			break
		}
		gather(cur, b.X, rows, size)
		gather(x0, b.X, rows, size)
		clear(mom[:len(rows)*size])
		// The gradient of an output task's loss, a distance to the clean
		// output, is zero at the clean input: every iteration starts at a
		// random point there (see OutputTasker).
		if it.randomStart || b.isOutput() {
			for j, i := range rows {
				rng := seeds.Stream(eps, b.Index[i], r)
				it.norm.RandomStart(rng, cur[j*size:(j+1)*size], x0[j*size:(j+1)*size], eps, spec.Lo, spec.Hi)
			}
		}
		for t := 0; t < it.steps; t++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			na := len(rows)
			obj := b.objective(it.loss, rows, targets, k)
			if err := m.LossGradient(ctx, cur[:na*size], na, obj, grad[:na*size], logits[:na*k], nil); err != nil {
				return err
			}
			res.addQueries(rows, 1)
			keep := 0
			for j, i := range rows {
				c, x, g := cur[j*size:(j+1)*size], x0[j*size:(j+1)*size], grad[j*size:(j+1)*size]
				if b.brokenAt(logits[j*k:(j+1)*k], i, targetAt(targets, i)) {
					copy(adv[i*size:(i+1)*size], c)
					done[i] = true
					continue
				}
				if it.momentum {
					mv := mom[j*size : (j+1)*size]
					l1 := 0.0
					for _, v := range g {
						l1 += math.Abs(float64(v))
					}
					if l1 > 0 {
						f := float32(1 / l1)
						for q, v := range g {
							mv[q] = float32(it.decay)*mv[q] + f*v
						}
					} else {
						for q := range mv {
							mv[q] *= float32(it.decay)
						}
					}
					g = mv
				}
				it.norm.Step(c, g, it.alpha)
				it.norm.Project(c, x, eps, spec.Lo, spec.Hi)
				// Compact the still-active samples to the front.
				if keep != j {
					copy(cur[keep*size:(keep+1)*size], c)
					copy(x0[keep*size:(keep+1)*size], x)
					copy(mom[keep*size:(keep+1)*size], mom[j*size:(j+1)*size])
				}
				rows[keep] = i
				keep++
			}
			rows = rows[:keep]
			if len(rows) == 0 {
				break
			}
		}
		if len(rows) == 0 {
			continue
		}
		// The last iterate has not been evaluated yet.
		na := len(rows)
		if err := m.Logits(ctx, cur[:na*size], na, logits[:na*k]); err != nil {
			return err
		}
		res.addQueries(rows, 1)
		for j, i := range rows {
			row := logits[j*k : (j+1)*k]
			c := cur[j*size : (j+1)*size]
			t := targetAt(targets, i)
			if b.brokenAt(row, i, t) {
				copy(adv[i*size:(i+1)*size], c)
				done[i] = true
				continue
			}
			if l := b.lossAt(it.loss, row, i, t); l > bestLoss[i] {
				bestLoss[i] = l
				copy(adv[i*size:(i+1)*size], c)
			}
		}
	}
	return nil
}

// Doubled implements Doubler: twice the steps.
func (a *PGD) Doubled() Attack { return withParam(a, "steps", fmt.Sprint(2*a.steps)) }
