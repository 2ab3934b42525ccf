package attacks

import (
	"context"
	"fmt"

	"github.com/advcheck/advcheck/models"
)

// FGSM is the fast gradient sign method (Goodfellow et al. 2015):
// x + eps·sign(∇ₓL) for L∞, and the fast gradient method x + eps·∇ₓL/‖∇ₓL‖₂
// (the norm taken per sample over C×H×W; a zero gradient leaves the sample
// unchanged) for L2; then clipped to the bounds. L is the cross-entropy of
// the label, or minus that of the target for a targeted attack. One gradient
// serves every eps of a sweep.
type FGSM struct {
	base
	norm   Norm
	loss   models.LossKind
	target string
}

func init() {
	register("fgsm", "fast gradient sign method (Goodfellow et al. 2015); norm=l2 gives the fast gradient method", func() (Attack, *base, func() error) {
		a := &FGSM{}
		a.name = "fgsm"
		a.bind(
			param{name: "norm", doc: "linf (sign of the gradient) or l2 (gradient over its L2 norm)", ptr: &a.norm},
			param{name: "loss", doc: "ce, margin or dlr", ptr: &a.loss},
			param{name: "target", doc: "untargeted when empty; else random, ll (least likely), next or a class number", ptr: &a.target},
		)
		return a, &a.base, func() error { return validTarget(a.target) }
	})
	register("fgm", "fast gradient method: fgsm with norm=l2", func() (Attack, *base, func() error) {
		a := &FGSM{norm: L2}
		a.name = "fgm"
		a.bind(
			param{name: "norm", doc: "l2 (default) or linf", ptr: &a.norm},
			param{name: "loss", doc: "ce, margin or dlr", ptr: &a.loss},
			param{name: "target", doc: "untargeted when empty; else random, ll, next or a class number", ptr: &a.target},
		)
		return a, &a.base, func() error { return validTarget(a.target) }
	})
}

// Norm implements Attack.
func (a *FGSM) Norm() Norm { return a.norm }

// Run implements Attack.
func (a *FGSM) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	return a.RunSweep(ctx, m, b, []float64{eps}, seeds, [][]float32{adv}, []*Result{res})
}

// RunSweep implements EpsSweeper: one gradient per sample for every eps.
func (a *FGSM) RunSweep(ctx context.Context, m models.Model, b Batch, eps []float64, seeds Seeds, adv [][]float32, res []*Result) error {
	if len(adv) != len(eps) || len(res) != len(eps) {
		return fmt.Errorf("attacks: %d eps, %d outputs, %d results", len(eps), len(adv), len(res))
	}
	for k := range eps {
		if err := checkBatch(m, b, adv[k], eps[k]); err != nil {
			return err
		}
	}
	if b.isOutput() {
		return a.runOutput(ctx, m, b, eps, seeds, adv, res)
	}
	n, size := b.Len(), m.Spec().Size()
	// Targets do not depend on eps for FGSM ("random" is drawn with eps 0),
	// so every radius attacks the same target.
	targets, err := chooseTargets(ctx, m, b, a.target, seeds, 0, res[0])
	if err != nil {
		return err
	}
	for _, r := range res[1:] {
		if r != nil && targets != nil {
			r.Targets = targets
		}
	}
	grad := make([]float32, len(b.X))
	obj := b.objective(a.loss, nil, targets, m.Spec().Classes)
	if err := m.LossGradient(ctx, b.X, n, obj, grad, nil, nil); err != nil {
		return err
	}
	spec := m.Spec()
	for k, e := range eps {
		res[k].addQueries(all(n), 1)
		out := adv[k]
		copy(out, b.X)
		for i := 0; i < n; i++ {
			row, x := out[i*size:(i+1)*size], b.X[i*size:(i+1)*size]
			a.norm.Step(row, grad[i*size:(i+1)*size], e)
			a.norm.Project(row, x, e, spec.Lo, spec.Hi)
		}
	}
	return nil
}

// runOutput is FGSM on an output task, where the gradient at the clean
// input is zero: per eps, one step of size eps along the gradient at a
// uniformly random point of the eps-ball, from that point, projected onto
// the ball and the bounds (one-step PGD; two queries: the gradient and the
// output at the result).
func (a *FGSM) runOutput(ctx context.Context, m models.Model, b Batch, eps []float64, seeds Seeds, adv [][]float32, res []*Result) error {
	for k, e := range eps {
		it := iteration{norm: a.norm, steps: 1, alpha: e, randomStart: true, restarts: 1, loss: a.loss}
		if err := it.run(ctx, m, b, nil, e, seeds, adv[k], res[k]); err != nil {
			return err
		}
	}
	return nil
}
