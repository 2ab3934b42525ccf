package attacks

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models"
)

// DeepFool (Moosavi-Dezfooli et al. 2016) linearises the classifier at the
// current point and steps to the nearest linearised decision boundary: for
// every class k ≠ y, f_k = z_k − z_y and w_k = ∇f_k; the step goes to the
// class l minimising |f_l|/‖w_l‖_* + 10⁻⁴ (‖·‖_* the dual norm: L2 for L2,
// L1 for L∞), by (1 + Overshoot) times that distance along w_l/‖w_l‖₂ (L2)
// or sign(w_l) (L∞), then clips to the bounds, as the authors' code and
// adv_lib do. The first misclassified iterate is the answer; at most Steps
// steps (the point after the last one is evaluated too). Each step costs one
// forward pass and Classes−1 gradients.
type DeepFool struct {
	base
	norm      Norm
	steps     int
	overshoot float64
}

func init() {
	register("deepfool", "DeepFool (Moosavi-Dezfooli et al. 2016): minimal perturbation by steps to the linearised decision boundary", func() (Attack, *base, func() error) {
		a := &DeepFool{norm: L2, steps: 50, overshoot: 0.02}
		a.name = "deepfool"
		a.bind(
			param{name: "norm", doc: "l2 (default) or linf", ptr: &a.norm},
			param{name: "steps", doc: "maximum linearisation steps", ptr: &a.steps},
			param{name: "overshoot", doc: "factor by which each step passes the linearised boundary", ptr: &a.overshoot},
		)
		return a, &a.base, func() error {
			if a.steps < 1 || a.overshoot < 0 {
				return fmt.Errorf("steps must be positive, overshoot ≥ 0")
			}
			return nil
		}
	})
}

// Norm implements Attack.
func (a *DeepFool) Norm() Norm { return a.norm }

// Run implements Attack.
func (a *DeepFool) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	return minimizerRun(ctx, a, m, b, eps, seeds, adv, res)
}

// RunSweep implements EpsSweeper: one minimisation for every eps.
func (a *DeepFool) RunSweep(ctx context.Context, m models.Model, b Batch, eps []float64, seeds Seeds, adv [][]float32, res []*Result) error {
	return minimizerSweep(ctx, a, m, b, eps, seeds, adv, res)
}

// Doubled implements Doubler: twice the steps.
func (a *DeepFool) Doubled() Attack { return withParam(a, "steps", fmt.Sprint(2*a.steps)) }

// Minimize implements Minimizer.
func (a *DeepFool) Minimize(ctx context.Context, m models.Model, b Batch, seeds Seeds, adv []float32, dist []float64, res *Result) error {
	if err := checkMinimize(m, b, adv, dist); err != nil {
		return err
	}
	startMinimize(b, adv, dist)
	spec := m.Spec()
	n, size, k := b.Len(), spec.Size(), spec.Classes
	if n == 0 || k < 2 {
		return nil
	}
	cur := append([]float32(nil), b.X...) // row j: the iterate of sample rows[j]
	grad := make([]float32, n*size)
	best := make([]float32, n*size) // row j: w_l of the nearest boundary so far
	bestDist := make([]float64, n)
	bestNorm := make([]float64, n)
	logits := make([]float32, n*k)
	scratch := make([]float32, size)
	targets := make([]int, n)
	lo, hi := float32(spec.Lo), float32(spec.Hi)
	rows := all(n)
	for it := 0; ; it++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		na := len(rows)
		if err := m.Logits(ctx, cur[:na*size], na, logits[:na*k]); err != nil {
			return err
		}
		res.addQueries(rows, 1)
		keep := 0
		for j, i := range rows {
			c := cur[j*size : (j+1)*size]
			if offerMin(a.norm, b, i, size, logits[j*k:(j+1)*k], c, adv, dist, scratch) {
				continue
			}
			if keep != j {
				copy(cur[keep*size:(keep+1)*size], c)
				copy(logits[keep*k:(keep+1)*k], logits[j*k:(j+1)*k])
			}
			rows[keep] = i
			keep++
		}
		rows = rows[:keep]
		na = len(rows)
		if na == 0 || it == a.steps {
			return nil
		}
		labels := pick(b.Labels, rows)
		for j := range rows {
			bestDist[j] = math.Inf(1)
		}
		for q := 0; q < k-1; q++ {
			for j, y := range labels {
				targets[j] = q
				if q >= y {
					targets[j] = q + 1
				}
			}
			obj := models.Objective{Loss: models.LogitDiff, Labels: labels, Targets: targets[:na]}
			if err := m.LossGradient(ctx, cur[:na*size], na, obj, grad[:na*size], nil, nil); err != nil {
				return err
			}
			res.addQueries(rows, 1)
			for j, y := range labels {
				g := grad[j*size : (j+1)*size]
				f := math.Abs(float64(logits[j*k+targets[j]]) - float64(logits[j*k+y]))
				var dual float64
				if a.norm == Linf {
					dual = L1.Dist(g)
				} else {
					dual = l2(g)
				}
				dual = math.Max(dual, 1e-6)
				if d := f/dual + 1e-4; d < bestDist[j] {
					bestDist[j], bestNorm[j] = d, dual
					copy(best[j*size:(j+1)*size], g)
				}
			}
		}
		s := 1 + a.overshoot
		for j := range rows {
			c, g := cur[j*size:(j+1)*size], best[j*size:(j+1)*size]
			if a.norm == Linf {
				step := float32(s * bestDist[j])
				for q, v := range g {
					switch {
					case v > 0:
						c[q] += step
					case v < 0:
						c[q] -= step
					}
				}
			} else {
				f := float32(s * bestDist[j] / bestNorm[j])
				for q, v := range g {
					c[q] += f * v
				}
			}
			for q, v := range c {
				c[q] = min(max(v, lo), hi)
			}
		}
	}
}
