package attacks

import (
	"context"
	"fmt"

	"github.com/advcheck/advcheck/models"
)

// MIFGSM is the momentum iterative FGSM (Dong et al. 2018): g ← μ·g +
// ∇/‖∇‖₁ with the L1 norm taken per sample over C×H×W, then x ← x +
// α·sign(g), projected; T steps of α = eps/T from the clean input.
type MIFGSM struct {
	base
	steps  int
	decay  float64
	loss   models.LossKind
	target string
}

func init() {
	register("mifgsm", "momentum iterative FGSM (Dong et al. 2018), L∞", func() (Attack, *base, func() error) {
		a := &MIFGSM{steps: 10, decay: 1}
		a.name = "mifgsm"
		a.bind(
			param{name: "steps", doc: "iterations T; the step is eps/T", ptr: &a.steps},
			param{name: "decay", doc: "momentum decay μ", ptr: &a.decay},
			param{name: "loss", doc: "ce, margin or dlr", ptr: &a.loss},
			param{name: "target", doc: "untargeted when empty; else random, ll, next or a class number", ptr: &a.target},
		)
		return a, &a.base, func() error {
			if a.steps < 1 || a.decay < 0 {
				return fmt.Errorf("steps must be positive and decay ≥ 0")
			}
			return validTarget(a.target)
		}
	})
}

// Norm implements Attack.
func (a *MIFGSM) Norm() Norm { return Linf }

// Run implements Attack.
func (a *MIFGSM) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	if err := checkBatch(m, b, adv, eps); err != nil {
		return err
	}
	targets, err := chooseTargets(ctx, m, b, a.target, seeds, eps, res)
	if err != nil {
		return err
	}
	it := iteration{norm: Linf, steps: a.steps, alpha: eps / float64(a.steps), restarts: 1, loss: a.loss, momentum: true, decay: a.decay}
	return it.run(ctx, m, b, targets, eps, seeds, adv, res)
}

// Doubled implements Doubler: twice the steps.
func (a *MIFGSM) Doubled() Attack { return withParam(a, "steps", fmt.Sprint(2*a.steps)) }
