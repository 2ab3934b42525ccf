package attacks

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/advcheck/advcheck/models"
)

// APGD is Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial
// robustness with an ensemble of diverse parameter-free attacks"), following
// the authors' reference implementation:
//
//   - the start is x + eps·t/‖t‖∞ with t uniform in [−1, 1] (L∞), or
//     x + eps·t/‖t‖₂ with t Gaussian (L2), clipped to the bounds;
//   - the step size starts at η = 2·eps per sample;
//   - each step is z = P(x + η·sign(∇)) (L∞; ∇/‖∇‖₂ for L2) followed by the
//     momentum step x ← P(x + α(z − x) + (1 − α)(x − x_prev)) with α = 0.75
//     (1 on the first step);
//   - checkpoints fall after 0.22·N iterations and then after intervals that
//     shrink by 0.03·N down to 0.06·N (Checkpoints); at a checkpoint the step
//     is halved when at most ρ = 0.75 of the steps since the last checkpoint
//     increased the loss, or when the step was not halved at the previous
//     checkpoint and the best loss has not improved since; after halving, the
//     iteration restarts from the highest-loss point.
//
// A sample's result is the first adversarial point found; for a sample never
// broken it is the highest-loss point (the reference returns the clean input
// there; advcheck returns the strongest point so that output-distance metrics
// describe it). Two deviations, both documented: the loss-increase count at
// the first checkpoint compares the first iterate with the starting point, as
// the paper defines it (the reference compares it with 0); and a broken sample
// stops being attacked.
//
// APGD-T (Targets > 0) runs the targeted DLR loss towards the classes ranked
// 2…Targets+1 by the clean logits, each only on samples still robust, and
// counts any misclassification as success.
type APGD struct {
	base
	normName string
	norm     Norm
	loss     models.LossKind
	iters    int
	restarts int
	rho      float64
	momentum float64
	targets  int
	eot      int
	largeEps bool // L1: the reference's use_largereps schedule (3·eps, 2·eps, eps)
}

func newAPGD(name string, loss models.LossKind, targets int) (Attack, *base, func() error) {
	a := &APGD{normName: "linf", loss: loss, iters: 100, restarts: 1, rho: 0.75, momentum: 0.75, targets: targets, eot: 1}
	a.name = name
	ps := []param{
		{name: "norm", doc: "linf, l2 or l1", ptr: &a.normName},
		{name: "iters", doc: "iterations per run", ptr: &a.iters},
		{name: "restarts", doc: "random restarts (per target for apgd-t), each on samples not yet broken", ptr: &a.restarts},
		{name: "rho", doc: "halve the step when at most this fraction of steps since the last checkpoint increased the loss", ptr: &a.rho},
		{name: "eot", doc: "gradients averaged per step (expectation over transformation, for randomised models)", ptr: &a.eot},
		{name: "large_eps", doc: "norm=l1: run 30 % of the iterations at 3·eps, 30 % at 2·eps, the rest at eps (AutoAttack's L1 schedule)", ptr: &a.largeEps},
	}
	if targets == 0 {
		ps = append(ps, param{name: "loss", doc: "ce or dlr", ptr: &a.loss})
	} else {
		ps = append(ps, param{name: "targets", doc: "number of target classes (ranked 2…targets+1 by clean logits)", ptr: &a.targets})
	}
	a.bind(ps...)
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
		if a.largeEps && (a.norm != L1 || a.iters < 3) {
			return fmt.Errorf("large_eps needs norm=l1 and at least 3 iters")
		}
		if a.iters < 1 || a.restarts < 1 || a.eot < 1 || a.rho <= 0 || a.rho > 1 {
			return fmt.Errorf("iters, restarts and eot must be positive, rho in (0, 1]")
		}
		if a.loss == models.Margin {
			return fmt.Errorf("loss must be ce or dlr")
		}
		if targets > 0 && a.targets < 1 {
			return fmt.Errorf("targets must be positive")
		}
		return nil
	}
}

func init() {
	register("apgd-ce", "Auto-PGD with the cross-entropy loss (Croce & Hein 2020)", func() (Attack, *base, func() error) {
		return newAPGD("apgd-ce", models.CrossEntropy, 0)
	})
	register("apgd-dlr", "Auto-PGD with the difference-of-logits-ratio loss (Croce & Hein 2020)", func() (Attack, *base, func() error) {
		return newAPGD("apgd-dlr", models.DLR, 0)
	})
	register("apgd-t", "targeted Auto-PGD with the DLR loss over the top classes (Croce & Hein 2020)", func() (Attack, *base, func() error) {
		return newAPGD("apgd-t", models.DLR, 9)
	})
}

// Norm implements Attack.
func (a *APGD) Norm() Norm { return a.norm }

// Checkpoints returns the iterations (counted from 1) after which APGD checks
// its step size in a run of n iterations: 0.22·n, then intervals shrinking by
// 0.03·n to at least 0.06·n, as the reference computes them in integers.
func Checkpoints(n int) []int {
	k := max(int(0.22*float64(n)), 1)
	decr := max(int(0.03*float64(n)), 1)
	kmin := max(int(0.06*float64(n)), 1)
	var out []int
	for at := k; at <= n; at += k {
		out = append(out, at)
		k = max(k-decr, kmin)
	}
	return out
}

// Run implements Attack.
func (a *APGD) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	if err := checkBatch(m, b, adv, eps); err != nil {
		return err
	}
	spec := m.Spec()
	n, k := b.Len(), spec.Classes
	copy(adv, b.X)
	need := 0
	switch {
	case a.targets > 0:
		need = 4
		if a.targets > k-1 {
			return fmt.Errorf("%w: apgd-t with %d targets needs at least %d classes, the model has %d", models.ErrObjective, a.targets, a.targets+1, k)
		}
	case a.loss == models.DLR:
		need = 3
	}
	if k < need {
		return fmt.Errorf("%w: %s needs at least %d classes, the model has %d", models.ErrObjective, a.name, need, k)
	}
	if eps == 0 {
		return nil
	}
	st := &apgdState{done: make([]bool, n), best: make([]float64, n)}
	for i := range st.best {
		st.best[i] = math.Inf(-1)
	}
	if a.targets == 0 {
		for r := 0; r < a.restarts; r++ {
			if err := a.runOnce(ctx, m, b, nil, eps, seeds, r, adv, st, res); err != nil {
				return err
			}
		}
		return nil
	}
	clean := make([]float32, n*k)
	if err := m.Logits(ctx, b.X, n, clean); err != nil {
		return err
	}
	res.addQueries(all(n), 1)
	order := make([][]int, n) // classes sorted by decreasing clean logit
	for i := range order {
		row := clean[i*k : (i+1)*k]
		order[i] = all(k)
		sort.SliceStable(order[i], func(p, q int) bool { return row[order[i][p]] > row[order[i][q]] })
	}
	targets := make([]int, n)
	for rank := 2; rank <= a.targets+1; rank++ {
		for i := range targets {
			targets[i] = order[i][rank-1]
		}
		for r := 0; r < a.restarts; r++ {
			if err := a.runOnce(ctx, m, b, targets, eps, seeds, (rank-2)*a.restarts+r, adv, st, res); err != nil {
				return err
			}
		}
	}
	return nil
}

type apgdState struct {
	done []bool    // broken: adv holds an adversarial point
	best []float64 // for unbroken samples, the loss of the point in adv
}

// apgdPhase is one stretch of an APGD run: its radius and iterations.
type apgdPhase struct {
	eps   float64
	iters int
}

// phases returns the radii and iterations of one run: all iterations at eps,
// or with large_eps (L1) the reference's ⌈0.3·N⌉ at 3·eps, ⌈0.3·N⌉ at 2·eps
// and the rest at eps, each phase starting from the best point of the one
// before, projected onto its ball. Only the last phase's points count as
// results.
func (a *APGD) phases(eps float64) []apgdPhase {
	if !a.largeEps {
		return []apgdPhase{{eps, a.iters}}
	}
	n := int(math.Ceil(0.3 * float64(a.iters)))
	return []apgdPhase{{3 * eps, n}, {2 * eps, n}, {eps, a.iters - 2*n}}
}

// runOnce is one APGD run on the samples not yet broken.
func (a *APGD) runOnce(ctx context.Context, m models.Model, b Batch, targets []int, eps float64, seeds Seeds, restart int, adv []float32, st *apgdState, res *Result) error {
	spec := m.Spec()
	size := spec.Size()
	rows := pending(st.done)
	if len(rows) == 0 {
		return nil
	}
	na := len(rows)
	x0 := make([]float32, na*size)
	gather(x0, b.X, rows, size)
	x := make([]float32, na*size)
	phases := a.phases(eps)
	for j, i := range rows {
		rng := seeds.Stream(eps, b.Index[i], restart)
		apgdStart(a.norm, rng, x[j*size:(j+1)*size], x0[j*size:(j+1)*size], phases[0].eps, spec.Lo, spec.Hi)
	}
	for p, ph := range phases {
		if p > 0 {
			for j := range rows {
				projectL1Box(x[j*size:(j+1)*size], x0[j*size:(j+1)*size], ph.eps, spec.Lo, spec.Hi, nil)
			}
		}
		if err := a.phase(ctx, m, b, targets, rows, x0, x, ph, a.largeEps, p == len(phases)-1, adv, st, res); err != nil {
			return err
		}
	}
	return nil
}

// phase runs ph.iters APGD iterations at radius ph.eps from x (one start per
// position of rows, already in the ball), leaving in x each position's
// highest-loss point. In the final phase adversarial points are results and
// retire their samples, and unbroken samples keep their highest-loss point
// across runs; earlier phases (large_eps) only prepare the next start.
// fromStart tells the L1 sparsity schedule that x is a given start (the
// reference's x_init): it then starts from x's sparsity instead of 20 %.
func (a *APGD) phase(ctx context.Context, m models.Model, b Batch, targets, rows []int, x0, x []float32, ph apgdPhase, fromStart, final bool, adv []float32, st *apgdState, res *Result) error {
	spec := m.Spec()
	size, k := spec.Size(), spec.Classes
	na := len(rows)
	eps := ph.eps
	xOld := make([]float32, na*size)
	xBest := make([]float32, na*size)
	grad := make([]float32, na*size)
	gradBest := make([]float32, na*size)
	z := make([]float32, size)
	logits := make([]float32, na*k)
	loss := make([]float64, na)
	lossPrev := make([]float64, na)
	lossBest := make([]float64, na)
	lossBestLastCheck := make([]float64, na)
	reducedLastCheck := make([]bool, na)
	increases := make([]int, na) // loss increases since the last checkpoint
	eta := make([]float64, na)
	active := all(na) // positions (into the compact arrays) still attacked
	for j := range eta {
		eta[j] = 2 * eps
	}
	// L1 (Croce & Hein 2021): the step moves the coordinates holding the
	// largest topk fraction of |∇|, and the schedule adapts topk and η to the
	// sparsity of the best point.
	var l1 *l1Schedule
	if a.norm == L1 {
		l1 = newL1Schedule(na, size, ph, fromStart, x, x0)
		copy(eta, l1.eta)
	}
	// evaluate computes loss, gradient and logits at x for the active
	// positions and, in the final phase, retires the ones that are broken.
	buf := make([]float32, na*size)
	gbuf := make([]float32, na*size)
	var eotSum []float64
	evaluate := func() error {
		nb := len(active)
		sub := make([]int, nb)
		for q, j := range active {
			sub[q] = rows[j]
		}
		gather(buf, x, active, size)
		obj := b.objective(a.loss, sub, targets, k)
		lb := make([]float64, nb)
		if a.eot <= 1 {
			if err := m.LossGradient(ctx, buf[:nb*size], nb, obj, gbuf[:nb*size], logits[:nb*k], lb); err != nil {
				return err
			}
			res.addQueries(sub, 1)
			scatter(grad, gbuf, active, size)
		} else {
			// The mean of eot gradients; the loss and logits of the last, as
			// in the reference.
			if len(eotSum) < nb*size {
				eotSum = make([]float64, na*size)
			}
			clear(eotSum[:nb*size])
			for e := 0; e < a.eot; e++ {
				if err := m.LossGradient(ctx, buf[:nb*size], nb, obj, gbuf[:nb*size], logits[:nb*k], lb); err != nil {
					return err
				}
				for q, v := range gbuf[:nb*size] {
					eotSum[q] += float64(v)
				}
			}
			res.addQueries(sub, a.eot)
			for q := range gbuf[:nb*size] {
				gbuf[q] = float32(eotSum[q] / float64(a.eot))
			}
			scatter(grad, gbuf, active, size)
		}
		keep := active[:0]
		for q, j := range active {
			loss[j] = lb[q]
			i := rows[j]
			if final && b.brokenAt(logits[q*k:(q+1)*k], i, -1) {
				copy(adv[i*size:(i+1)*size], x[j*size:(j+1)*size])
				st.done[i] = true
				continue
			}
			keep = append(keep, j)
		}
		active = keep
		return nil
	}
	if err := evaluate(); err != nil {
		return err
	}
	copy(xBest, x)
	copy(gradBest, grad)
	copy(lossBest, loss)
	copy(lossPrev, loss)
	copy(lossBestLastCheck, loss)
	copy(xOld, x)
	checks := Checkpoints(ph.iters)
	next, sinceCheck := 0, 0
	for it := 0; it < ph.iters && len(active) > 0; it++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		mom := a.momentum
		if it == 0 {
			mom = 1
		}
		for _, j := range active {
			xs, xo, xc := x[j*size:(j+1)*size], xOld[j*size:(j+1)*size], x0[j*size:(j+1)*size]
			if l1 != nil {
				// No momentum for L1, as in the reference.
				l1.step(xs, grad[j*size:(j+1)*size], j, eta[j])
				projectL1Box(xs, xc, eps, spec.Lo, spec.Hi, l1.proj)
				continue
			}
			copy(z, xs)
			a.norm.Step(z, grad[j*size:(j+1)*size], eta[j])
			a.norm.Project(z, xc, eps, spec.Lo, spec.Hi)
			for q := range xs {
				prev := xo[q]
				xo[q] = xs[q]
				xs[q] = xs[q] + float32(mom)*(z[q]-xs[q]) + float32(1-mom)*(xs[q]-prev)
			}
			a.norm.Project(xs, xc, eps, spec.Lo, spec.Hi)
		}
		if err := evaluate(); err != nil {
			return err
		}
		for _, j := range active {
			if loss[j] > lossPrev[j] {
				increases[j]++
			}
			lossPrev[j] = loss[j]
			if loss[j] > lossBest[j] {
				lossBest[j] = loss[j]
				copy(xBest[j*size:(j+1)*size], x[j*size:(j+1)*size])
				copy(gradBest[j*size:(j+1)*size], grad[j*size:(j+1)*size])
			}
		}
		sinceCheck++
		if l1 != nil {
			if sinceCheck == l1.every {
				for _, j := range active {
					if l1.check(j, xBest[j*size:(j+1)*size], x0[j*size:(j+1)*size], eta) {
						copy(x[j*size:(j+1)*size], xBest[j*size:(j+1)*size])
						copy(grad[j*size:(j+1)*size], gradBest[j*size:(j+1)*size])
					}
				}
				sinceCheck = 0
			}
			continue
		}
		if next < len(checks) && it+1 == checks[next] {
			for _, j := range active {
				oscillating := float64(increases[j]) <= a.rho*float64(sinceCheck)
				noImprovement := !reducedLastCheck[j] && lossBestLastCheck[j] >= lossBest[j]
				reduce := oscillating || noImprovement
				reducedLastCheck[j] = reduce
				lossBestLastCheck[j] = lossBest[j]
				increases[j] = 0
				if reduce {
					eta[j] /= 2
					copy(x[j*size:(j+1)*size], xBest[j*size:(j+1)*size])
					copy(grad[j*size:(j+1)*size], gradBest[j*size:(j+1)*size])
				}
			}
			next++
			sinceCheck = 0
		}
	}
	if !final {
		// The next phase starts from each sample's highest-loss point.
		copy(x, xBest)
		return nil
	}
	// Unbroken samples keep their highest-loss point across runs.
	for _, j := range active {
		i := rows[j]
		if !st.done[i] && lossBest[j] > st.best[i] {
			st.best[i] = lossBest[j]
			copy(adv[i*size:(i+1)*size], xBest[j*size:(j+1)*size])
		}
	}
	return nil
}

// apgdStart writes the reference start point: for L∞, x + eps·t/‖t‖∞ with
// t uniform in [−1, 1]; for L2, x + eps·t/‖t‖₂ with t standard normal; for
// L1, x + t with t standard normal, projected onto the L1 ball and the box.
func apgdStart(norm Norm, rng interface {
	Float64() float64
	NormFloat64() float64
}, adv, x []float32, eps, lo, hi float64) {
	if norm == L1 {
		for i := range adv {
			adv[i] = x[i] + float32(rng.NormFloat64())
		}
		projectL1Box(adv, x, eps, lo, hi, nil)
		return
	}
	t := make([]float64, len(x))
	s := 0.0
	for i := range t {
		if norm == Linf {
			t[i] = 2*rng.Float64() - 1
			s = math.Max(s, math.Abs(t[i]))
		} else {
			t[i] = rng.NormFloat64()
			s += t[i] * t[i]
		}
	}
	if norm == L2 {
		s = math.Sqrt(s) + 1e-12
	}
	for i := range adv {
		adv[i] = x[i] + float32(eps*t[i]/s)
	}
	norm.Project(adv, x, eps, lo, hi)
}

// Doubled implements Doubler: twice the iters.
func (a *APGD) Doubled() Attack { return withParam(a, "iters", fmt.Sprint(2*a.iters)) }
