package attacks

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/advcheck/advcheck/models"
)

// FAB is the Fast Adaptive Boundary attack (Croce & Hein 2020, "Minimally
// distorted adversarial examples with a fast adaptive boundary attack"),
// following the authors' reference code (fab_base.py, fab_projections.py).
// Each iteration linearises the decision boundary at the iterate x: for
// the class j whose linearised boundary is nearest (untargeted; FAB-T uses
// its target) the hyperplane ⟨∇(z_j − z_y), z⟩ = ⟨∇(z_j − z_y), x⟩ −
// (z_j − z_y); it projects both x and the clean input x₀ onto that
// hyperplane inside the box (δ₁ and δ₂, the minimal-norm projections of
// fabProjectLinf/L2/L1) and moves to
//
//	x ← clip((x + η·δ₁)(1 − α) + (x₀ + η·δ₂)·α),  α = min(‖δ₁‖/(‖δ₁‖ + ‖δ₂‖), α_max),
//
// with the overshoot η = 1.05 and α_max = 0.1. When x is adversarial it
// is recorded if closer to x₀ than the best so far, and x steps back to
// x₀ + β(x − x₀), β = 0.9. The first run starts at x₀; restarts start at
// x₀ + eps/2 · t/‖t‖ (t uniform in [−1, 1] for L∞, Gaussian for L2 and L1).
//
// FAB-T (Targets > 0) runs the targeted version towards the classes ranked
// 2…Targets+1 by the clean logits, each on the samples still robust, as
// AutoAttack does; any misclassification counts. Norms: L∞, L2 and L1.
//
// At a given eps a sample is broken when FAB found an adversarial point
// within eps; it then stops being attacked (the reference iterates on to
// shrink the perturbation, which changes no verdict at that eps). Minimize
// runs every iteration and returns the smallest perturbation found. A
// sample not broken within eps gets its best adversarial point scaled
// towards x₀ onto the eps-sphere (still in the box), or x₀ if none was
// found.
type FAB struct {
	base
	normName string
	norm     Norm
	iters    int
	restarts int
	targets  int
	alphaMax float64
	eta      float64
	beta     float64
}

func newFAB(name string, targets int) (Attack, *base, func() error) {
	a := &FAB{normName: "linf", iters: 100, restarts: 1, targets: targets, alphaMax: 0.1, eta: 1.05, beta: 0.9}
	a.name = name
	ps := []param{
		{name: "norm", doc: "linf, l2 or l1", ptr: &a.normName},
		{name: "iters", doc: "iterations per run", ptr: &a.iters},
		{name: "restarts", doc: "runs per sample (per target for fab-t); the first starts at the clean input, the others at random points", ptr: &a.restarts},
		{name: "alpha_max", doc: "largest weight of the step from the clean input", ptr: &a.alphaMax},
		{name: "eta", doc: "overshoot of the projection steps", ptr: &a.eta},
		{name: "beta", doc: "backward step towards the clean input after a success", ptr: &a.beta},
	}
	if targets > 0 {
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
		if a.iters < 1 || a.restarts < 1 {
			return fmt.Errorf("iters and restarts must be positive")
		}
		if !(a.alphaMax >= 0 && a.alphaMax <= 1) || !(a.eta >= 1) || !(a.beta > 0 && a.beta <= 1) {
			return fmt.Errorf("alpha_max in [0, 1], eta ≥ 1, beta in (0, 1]")
		}
		if targets > 0 && a.targets < 1 {
			return fmt.Errorf("targets must be positive")
		}
		return nil
	}
}

func init() {
	register("fab", "Fast Adaptive Boundary attack, untargeted (Croce & Hein 2020)", func() (Attack, *base, func() error) {
		return newFAB("fab", 0)
	})
	register("fab-t", "targeted FAB over the top classes, AutoAttack's FAB-T (Croce & Hein 2020)", func() (Attack, *base, func() error) {
		return newFAB("fab-t", 9)
	})
}

// Norm implements Attack.
func (a *FAB) Norm() Norm { return a.norm }

// Doubled implements Doubler: twice the iters.
func (a *FAB) Doubled() Attack { return withParam(a, "iters", fmt.Sprint(2*a.iters)) }

// fabStartEps is the radius of FAB's random restarts in Minimize, where no
// eps is given: the reference code's defaults.
func fabStartEps(n Norm) float64 {
	switch n {
	case L2:
		return 1
	case L1:
		return 5
	}
	return 0.3
}

// Run implements Attack.
func (a *FAB) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	if err := checkBatch(m, b, adv, eps); err != nil {
		return err
	}
	copy(adv, b.X)
	if eps == 0 {
		return nil
	}
	st, err := a.attack(ctx, m, b, eps, eps, true, seeds, res)
	if err != nil {
		return err
	}
	spec := m.Spec()
	size := spec.Size()
	for i := range st.dist {
		x, o := b.X[i*size:(i+1)*size], adv[i*size:(i+1)*size]
		switch d := st.dist[i]; {
		case d <= eps:
			copy(o, st.found[i*size:(i+1)*size])
		case !math.IsInf(d, 1):
			f := float32(eps / d)
			for q, v := range st.found[i*size : (i+1)*size] {
				o[q] = min(max(x[q]+(v-x[q])*f, float32(spec.Lo)), float32(spec.Hi))
			}
		}
	}
	return nil
}

// Minimize writes into adv the adversarial point of smallest norm FAB finds
// for each sample (every iteration of every run, no eps) and its distance
// into dist; a sample it cannot break gets its clean input and +Inf.
func (a *FAB) Minimize(ctx context.Context, m models.Model, b Batch, seeds Seeds, adv []float32, dist []float64, res *Result) error {
	if err := checkBatch(m, b, adv, 0); err != nil {
		return err
	}
	if len(dist) != b.Len() {
		return fmt.Errorf("attacks: %d distances for %d samples", len(dist), b.Len())
	}
	st, err := a.attack(ctx, m, b, math.Inf(1), fabStartEps(a.norm), false, seeds, res)
	if err != nil {
		return err
	}
	size := m.Spec().Size()
	copy(adv, b.X)
	for i, d := range st.dist {
		dist[i] = d
		if !math.IsInf(d, 1) {
			copy(adv[i*size:(i+1)*size], st.found[i*size:(i+1)*size])
		}
	}
	return nil
}

type fabState struct {
	done  []bool    // broken within eps: no further run
	dist  []float64 // norm of the closest adversarial point found, +Inf if none
	found []float32 // that point
}

// attack runs every restart (and target) on the samples not yet broken
// within eps. startEps is the radius of the random restarts; with stop, a
// sample stops as soon as it is broken within eps.
func (a *FAB) attack(ctx context.Context, m models.Model, b Batch, eps, startEps float64, stop bool, seeds Seeds, res *Result) (*fabState, error) {
	spec := m.Spec()
	n, size, k := b.Len(), spec.Size(), spec.Classes
	if a.targets > k-1 {
		return nil, fmt.Errorf("%w: fab-t with %d targets needs at least %d classes, the model has %d", models.ErrObjective, a.targets, a.targets+1, k)
	}
	st := &fabState{done: make([]bool, n), dist: make([]float64, n), found: make([]float32, n*size)}
	clean := make([]float32, n*k)
	if err := m.Logits(ctx, b.X, n, clean); err != nil {
		return nil, err
	}
	res.addQueries(all(n), 1)
	for i := range st.dist {
		st.dist[i] = math.Inf(1)
		if argmax(clean[i*k:(i+1)*k]) != b.Labels[i] {
			// Already misclassified: broken at distance 0, as the reference
			// leaves such samples unattacked.
			st.done[i], st.dist[i] = true, 0
			copy(st.found[i*size:(i+1)*size], b.X[i*size:(i+1)*size])
		}
	}
	if a.targets == 0 {
		for r := 0; r < a.restarts; r++ {
			if err := a.runOnce(ctx, m, b, nil, eps, startEps, stop, seeds, r, r > 0, st, res); err != nil {
				return nil, err
			}
		}
		return st, nil
	}
	order := make([][]int, n) // classes by decreasing clean logit
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
			if err := a.runOnce(ctx, m, b, targets, eps, startEps, stop, seeds, (rank-2)*a.restarts+r, r > 0, st, res); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// runOnce is one FAB run (attack_single_run in the reference) on the samples
// not done; afterwards a sample is done when its best point lies within eps.
func (a *FAB) runOnce(ctx context.Context, m models.Model, b Batch, targets []int, eps, startEps float64, stop bool, seeds Seeds, restart int, random bool, st *fabState, res *Result) error {
	spec := m.Spec()
	size, k := spec.Size(), spec.Classes
	rows := pending(st.done)
	if len(rows) == 0 {
		return nil
	}
	na := len(rows)
	x0 := make([]float32, na*size)
	gather(x0, b.X, rows, size)
	x := make([]float32, na*size)
	copy(x, x0)
	if random {
		for j, i := range rows {
			fabStart(a.norm, seeds.Stream(eps, b.Index[i], restart), x[j*size:(j+1)*size], x0[j*size:(j+1)*size], startEps, spec.Lo, spec.Hi)
		}
	}
	w := make([]float32, na*size) // ∇(z_j − z_y) of the chosen class j
	df := make([]float64, na)     // z_j − z_y
	bestDual := make([]float64, na)
	buf := make([]float32, na*size)
	gbuf := make([]float32, na*size)
	logits := make([]float32, na*k)
	lossBuf := make([]float64, na)
	tg := make([]int, na)
	// linearise computes, at x, the logits and the hyperplane (w, df) of
	// the positions pos; it spends one gradient per sample (targeted) or
	// one per other class (untargeted).
	linearise := func(pos []int) error {
		nb := len(pos)
		sub := make([]int, nb)
		for q, j := range pos {
			sub[q] = rows[j]
		}
		gather(buf, x, pos, size)
		labels := pick(b.Labels, sub)
		if targets != nil {
			obj := models.Objective{Loss: models.LogitDiff, Labels: labels, Targets: pick(targets, sub)}
			if err := m.LossGradient(ctx, buf[:nb*size], nb, obj, gbuf[:nb*size], logits[:nb*k], lossBuf[:nb]); err != nil {
				return err
			}
			res.addQueries(sub, 1)
			scatter(w, gbuf, pos, size)
			for q, j := range pos {
				df[j] = lossBuf[q]
			}
			return nil
		}
		for _, j := range pos {
			bestDual[j] = math.Inf(1)
		}
		for c := 0; c < k-1; c++ {
			for q, y := range labels {
				tg[q] = c
				if c >= y {
					tg[q] = c + 1
				}
			}
			obj := models.Objective{Loss: models.LogitDiff, Labels: labels, Targets: tg[:nb]}
			if err := m.LossGradient(ctx, buf[:nb*size], nb, obj, gbuf[:nb*size], logits[:nb*k], lossBuf[:nb]); err != nil {
				return err
			}
			res.addQueries(sub, 1)
			for q, j := range pos {
				g := gbuf[q*size : (q+1)*size]
				d := math.Abs(lossBuf[q]) / (1e-12 + fabDualNorm(a.norm, g))
				if d < bestDual[j] {
					bestDual[j] = d
					df[j] = lossBuf[q]
					copy(w[j*size:(j+1)*size], g)
				}
			}
		}
		return nil
	}
	active := all(na)
	if err := linearise(active); err != nil {
		return err
	}
	var sc fabScratch
	d1, d2 := make([]float32, size), make([]float32, size)
	for it := 0; it < a.iters && len(active) > 0; it++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, j := range active {
			xs, xc, wj := x[j*size:(j+1)*size], x0[j*size:(j+1)*size], w[j*size:(j+1)*size]
			bb := -df[j]
			for q, v := range wj {
				bb += float64(v) * float64(xs[q])
			}
			a.project(d1, xs, wj, bb, spec.Lo, spec.Hi, &sc)
			a.project(d2, xc, wj, bb, spec.Lo, spec.Hi, &sc)
			a1 := math.Max(fabNorm(a.norm, d1), 1e-8)
			a2 := math.Max(fabNorm(a.norm, d2), 1e-8)
			alpha := float32(min(max(a1/(a1+a2), 0), a.alphaMax))
			eta := float32(a.eta)
			for q := range xs {
				v := (xs[q]+eta*d1[q])*(1-alpha) + (xc[q]+eta*d2[q])*alpha
				xs[q] = min(max(v, float32(spec.Lo)), float32(spec.Hi))
			}
		}
		last := it == a.iters-1
		if last {
			nb := len(active)
			gather(buf, x, active, size)
			if err := m.Logits(ctx, buf[:nb*size], nb, logits[:nb*k]); err != nil {
				return err
			}
			sub := make([]int, nb)
			for q, j := range active {
				sub[q] = rows[j]
			}
			res.addQueries(sub, 1)
		} else if err := linearise(active); err != nil {
			return err
		}
		var stepped []int // adversarial positions, stepped back: their linearisation is stale
		keep := active[:0]
		for q, j := range active {
			i := rows[j]
			if argmax(logits[q*k:(q+1)*k]) == b.Labels[i] {
				keep = append(keep, j)
				continue
			}
			xs, xc := x[j*size:(j+1)*size], x0[j*size:(j+1)*size]
			for p := range d1 {
				d1[p] = xs[p] - xc[p]
			}
			if t := fabNorm(a.norm, d1); t < st.dist[i] {
				st.dist[i] = t
				copy(st.found[i*size:(i+1)*size], xs)
			}
			beta := float32(a.beta)
			for p := range xs {
				xs[p] = xc[p] + (xs[p]-xc[p])*beta
			}
			if stop && st.dist[i] <= eps {
				continue // broken within eps: this sample is finished
			}
			keep = append(keep, j)
			stepped = append(stepped, j)
		}
		active = keep
		if !last && len(stepped) > 0 {
			if err := linearise(stepped); err != nil {
				return err
			}
		}
	}
	for _, i := range rows {
		if st.dist[i] <= eps {
			st.done[i] = true
		}
	}
	return nil
}

func (a *FAB) project(d, t, w []float32, b, lo, hi float64, sc *fabScratch) {
	switch a.norm {
	case Linf:
		fabProjectLinf(d, t, w, b, lo, hi, sc)
	case L2:
		fabProjectL2(d, t, w, b, lo, hi, sc)
	case L1:
		fabProjectL1(d, t, w, b, lo, hi, sc)
	}
}

// fabNorm is ‖d‖ in the attack's norm.
func fabNorm(n Norm, d []float32) float64 { return n.Dist(d) }

// fabDualNorm is the dual norm of g, which turns a logit gap into the
// distance to the linearised boundary: L1 for L∞, L2 for L2, L∞ for L1.
func fabDualNorm(n Norm, g []float32) float64 {
	switch n {
	case Linf:
		return L1.Dist(g)
	case L1:
		return Linf.Dist(g)
	}
	return L2.Dist(g)
}

// fabStart writes the reference restart point: x + eps/2 · t/‖t‖ with t
// uniform in [−1, 1] (L∞, ‖·‖∞) or Gaussian (L2, ‖·‖₂; L1, ‖·‖₁), clipped to
// the bounds.
func fabStart(norm Norm, rng interface {
	Float64() float64
	NormFloat64() float64
}, adv, x []float32, eps, lo, hi float64) {
	t := make([]float32, len(x))
	for i := range t {
		if norm == Linf {
			t[i] = float32(2*rng.Float64() - 1)
		} else {
			t[i] = float32(rng.NormFloat64())
		}
	}
	s := math.Max(fabNorm(norm, t), 1e-12)
	for i := range adv {
		v := x[i] + float32(0.5*eps*float64(t[i])/s)
		adv[i] = min(max(v, float32(lo)), float32(hi))
	}
}
