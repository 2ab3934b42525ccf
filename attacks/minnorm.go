package attacks

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models"
)

// Minimizer is implemented by the minimal-norm attacks (Carlini-Wagner L2,
// DeepFool, FMN): instead of a break within a given eps they look for the
// smallest perturbation that breaks each sample, so one run answers every
// eps. Their Run and RunSweep restrict that point to each radius (see
// AtEps).
type Minimizer interface {
	Attack
	// Minimize writes into adv (same layout as b.X) the adversarial point of
	// smallest norm found for each sample, within the model's bounds, and
	// into dist (b.Len() values) its distance to the clean sample in Norm,
	// Norm().Dist(adv−x) in float64. The model misclassifies every point
	// returned with a finite distance; a sample the attack could not break
	// gets its clean input and +Inf.
	Minimize(ctx context.Context, m models.Model, b Batch, seeds Seeds, adv []float32, dist []float64, res *Result) error
}

// AtEps writes into out the answer of a minimal-norm attack at radius eps:
// for each sample whose minimal perturbation (adv, at distance dist) lies
// within eps that point itself, unchanged; for the others the point
// projected onto the eps-ball around x and the bounds [lo, hi], the closest
// the attack came within the radius. out may alias adv.
func AtEps(norm Norm, x, adv []float32, dist []float64, eps, lo, hi float64, out []float32) {
	n := len(dist)
	if n == 0 {
		return
	}
	size := len(x) / n
	for i := 0; i < n; i++ {
		o, a, xi := out[i*size:(i+1)*size], adv[i*size:(i+1)*size], x[i*size:(i+1)*size]
		copy(o, a)
		if dist[i] <= eps {
			continue
		}
		norm.Project(o, xi, eps, lo, hi)
	}
}

// minimizerRun implements Attack.Run for a Minimizer.
func minimizerRun(ctx context.Context, a Minimizer, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	return minimizerSweep(ctx, a, m, b, []float64{eps}, seeds, [][]float32{adv}, []*Result{res})
}

// minimizerSweep implements EpsSweeper for a Minimizer: one minimisation,
// restricted to every eps. Every result gets the run's queries.
func minimizerSweep(ctx context.Context, a Minimizer, m models.Model, b Batch, eps []float64, seeds Seeds, adv [][]float32, res []*Result) error {
	if len(adv) != len(eps) || len(res) != len(eps) {
		return fmt.Errorf("attacks: %d eps, %d outputs, %d results", len(eps), len(adv), len(res))
	}
	for k := range eps {
		if err := checkBatch(m, b, adv[k], eps[k]); err != nil {
			return err
		}
	}
	n := b.Len()
	best := make([]float32, len(b.X))
	dist := make([]float64, n)
	r := &Result{Queries: make([]int, n)}
	if err := a.Minimize(ctx, m, b, seeds, best, dist, r); err != nil {
		return err
	}
	spec := m.Spec()
	for k, e := range eps {
		AtEps(a.Norm(), b.X, best, dist, e, spec.Lo, spec.Hi, adv[k])
		if res[k] != nil && res[k].Queries != nil {
			for i, q := range r.Queries {
				res[k].Queries[i] += q
			}
		}
	}
	return nil
}

// checkMinimize validates a Minimize call.
func checkMinimize(m models.Model, b Batch, adv []float32, dist []float64) error {
	if err := checkBatch(m, b, adv, 0); err != nil {
		return err
	}
	if len(dist) != b.Len() {
		return fmt.Errorf("attacks: %d distances for %d samples", len(dist), b.Len())
	}
	return nil
}

// startMinimize sets every sample to "not broken": its clean input at
// distance +Inf.
func startMinimize(b Batch, adv []float32, dist []float64) {
	copy(adv, b.X)
	for i := range dist {
		dist[i] = math.Inf(1)
	}
}

// offerMin keeps cand as sample i's answer when the model misclassifies it
// (row are its logits) and it is closer than the best so far. It returns
// whether cand was misclassified.
func offerMin(norm Norm, b Batch, i, size int, row, cand []float32, adv []float32, dist []float64, scratch []float32) bool {
	if !broken(row, b.Labels[i], -1) {
		return false
	}
	x := b.X[i*size : (i+1)*size]
	for q, v := range cand {
		scratch[q] = v - x[q]
	}
	if d := norm.Dist(scratch[:size]); d < dist[i] {
		dist[i] = d
		copy(adv[i*size:(i+1)*size], cand)
	}
	return true
}

// IsMinimizer reports whether the attack family name (as in a spec, e.g.
// "cw") is a minimal-norm attack.
func IsMinimizer(name string) bool {
	c, ok := registry[name]
	if !ok {
		return false
	}
	a, _, _ := c.make()
	_, ok = a.(Minimizer)
	return ok
}
