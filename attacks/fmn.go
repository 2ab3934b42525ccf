package attacks

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models"
)

// FMN is the Fast Minimum-Norm attack (Pintor et al. 2021) in L1, L2 or L∞,
// as the authors' code and adv_lib define it. From the clean input, each of
// Steps steps
//   - evaluates x+δ: the logit difference z_y − max_{j≠y} z_j and its
//     gradient g; a misclassified x+δ closer than the best so far becomes
//     the answer;
//   - adapts the radius ε: after a misclassified point ε ← min(ε(1−γ),
//     best norm); before any was found ε ← ‖δ‖ + |z_y − max z_j|/‖g‖_*
//     (the linearised distance to the boundary, ‖·‖_* the dual norm); else
//     ε ← ε(1+γ); ε never exceeds the largest distance the bounds allow;
//   - steps δ by α·g/‖g‖₂ towards the boundary, projects it onto the ε-ball
//     and clips x+δ to the bounds.
//
// α and γ follow the reference cosine schedules, α from Alpha to Alpha/100
// and γ from Gamma to 0.001: α_i = α_f + (α_0 − α_f)(1 + cos(πi/Steps))/2.
type FMN struct {
	base
	normName string
	norm     Norm
	steps    int
	alpha    float64
	gamma    float64
}

func init() {
	register("fmn", "Fast Minimum-Norm attack (Pintor et al. 2021): minimal L1, L2 or L∞ perturbation with an adaptive radius", func() (Attack, *base, func() error) {
		a := &FMN{normName: "linf", steps: 100, alpha: 1, gamma: 0.05}
		a.name = "fmn"
		a.bind(
			param{name: "norm", doc: "linf, l2 or l1", ptr: &a.normName},
			param{name: "steps", doc: "iterations", ptr: &a.steps},
			param{name: "alpha", doc: "initial step size α₀ (annealed to α₀/100)", ptr: &a.alpha},
			param{name: "gamma", doc: "initial radius factor γ₀ (annealed to 0.001)", ptr: &a.gamma},
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
			if a.steps < 1 || a.alpha <= 0 || a.gamma <= 0 || a.gamma >= 1 {
				return fmt.Errorf("steps and alpha must be positive, gamma in (0, 1)")
			}
			return nil
		}
	})
}

// Norm implements Attack.
func (a *FMN) Norm() Norm { return a.norm }

// Run implements Attack.
func (a *FMN) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	return minimizerRun(ctx, a, m, b, eps, seeds, adv, res)
}

// RunSweep implements EpsSweeper: one minimisation for every eps.
func (a *FMN) RunSweep(ctx context.Context, m models.Model, b Batch, eps []float64, seeds Seeds, adv [][]float32, res []*Result) error {
	return minimizerSweep(ctx, a, m, b, eps, seeds, adv, res)
}

// Doubled implements Doubler: twice the steps.
func (a *FMN) Doubled() Attack { return withParam(a, "steps", fmt.Sprint(2*a.steps)) }

// dual returns the dual norm of the gradient: L1 for L∞, L2 for L2, L∞ for L1.
func (a *FMN) dual(g []float32) float64 {
	switch a.norm {
	case Linf:
		return L1.Dist(g)
	case L1:
		return Linf.Dist(g)
	}
	return l2(g)
}

// Minimize implements Minimizer.
func (a *FMN) Minimize(ctx context.Context, m models.Model, b Batch, seeds Seeds, adv []float32, dist []float64, res *Result) error {
	if err := checkMinimize(m, b, adv, dist); err != nil {
		return err
	}
	startMinimize(b, adv, dist)
	spec := m.Spec()
	n, size, k := b.Len(), spec.Size(), spec.Classes
	if n == 0 {
		return nil
	}
	lo, hi := spec.Lo, spec.Hi
	cur := append([]float32(nil), b.X...) // x + δ
	grad := make([]float32, n*size)
	logits := make([]float32, n*k)
	scratch := make([]float32, size)
	eps := make([]float64, n)
	worst := make([]float64, n)
	found := make([]bool, n)
	for i := 0; i < n; i++ {
		eps[i] = math.Inf(1)
		x := b.X[i*size : (i+1)*size]
		for q, v := range x {
			scratch[q] = float32(math.Max(float64(v)-lo, hi-float64(v)))
		}
		worst[i] = a.norm.Dist(scratch)
	}
	alphaF, gammaF := a.alpha/100, 0.001
	obj := models.Objective{Loss: models.Margin, Labels: b.Labels}
	for it := 0; it < a.steps; it++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		cos := (1 + math.Cos(math.Pi*float64(it)/float64(a.steps))) / 2
		alpha := alphaF + (a.alpha-alphaF)*cos
		gamma := gammaF + (a.gamma-gammaF)*cos
		if err := m.LossGradient(ctx, cur, n, obj, grad, logits, nil); err != nil {
			return err
		}
		res.addQueries(all(n), 1)
		for i := 0; i < n; i++ {
			c, x, g, row := cur[i*size:(i+1)*size], b.X[i*size:(i+1)*size], grad[i*size:(i+1)*size], logits[i*k:(i+1)*k]
			for q, v := range c {
				scratch[q] = v - x[q]
			}
			dn := a.norm.Dist(scratch)
			isAdv := offerMin(a.norm, b, i, size, row, c, adv, dist, scratch)
			found[i] = found[i] || isAdv
			// The gradient is of the margin max_{j≠y} z_j − z_y, the
			// reference's loss −(z_y − max z_j): ascending it moves towards
			// the boundary.
			switch {
			case isAdv:
				eps[i] = math.Min(eps[i]*(1-gamma), math.Min(dist[i], worst[i]))
			case found[i]:
				eps[i] *= 1 + gamma
			default:
				loss := math.Abs(lossOf(models.Margin, row, b.Labels[i], -1))
				eps[i] = dn + loss/math.Max(a.dual(g), 1e-12)
			}
			eps[i] = math.Min(eps[i], worst[i])
			if gn := l2(g); gn > 0 {
				f := float32(alpha / math.Max(gn, 1e-12))
				for q, v := range g {
					c[q] += f * v
				}
			}
			a.norm.Project(c, x, eps[i], lo, hi)
		}
	}
	return nil
}
