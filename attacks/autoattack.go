package attacks

import (
	"context"
	"fmt"

	"github.com/advcheck/advcheck/models"
)

// AutoAttack runs the standard AutoAttack protocol (Croce & Hein 2020):
// APGD-CE, then APGD-T (9 target classes), then Square (5,000 queries), each
// only on the samples the previous ones did not break, with the published
// budgets (100 iterations, one restart). FAB-T, the protocol's third attack,
// is not implemented, so results are not comparable with RobustBench entries;
// reports say so. L2 runs omit Square, as the protocol does.
type AutoAttack struct {
	base
	norm    Norm
	iters   int
	targets int
	queries int
}

func init() {
	register("autoattack", "AutoAttack standard protocol: APGD-CE → APGD-T → Square on the survivors (FAB-T not implemented)", func() (Attack, *base, func() error) {
		a := &AutoAttack{iters: 100, targets: 9, queries: 5000}
		a.name = "autoattack"
		a.bind(
			param{name: "norm", doc: "linf or l2", ptr: &a.norm},
			param{name: "iters", doc: "APGD iterations", ptr: &a.iters},
			param{name: "targets", doc: "APGD-T target classes (capped at classes − 1)", ptr: &a.targets},
			param{name: "queries", doc: "Square queries", ptr: &a.queries},
		)
		return a, &a.base, func() error {
			if a.iters < 1 || a.targets < 1 || a.queries < 1 {
				return fmt.Errorf("iters, targets and queries must be positive")
			}
			return nil
		}
	})
}

// Norm implements Attack.
func (a *AutoAttack) Norm() Norm { return a.norm }

// Stages returns the component attacks for a model with the given classes.
func (a *AutoAttack) Stages(classes int) []Attack {
	ce := &APGD{norm: a.norm, loss: models.CrossEntropy, iters: a.iters, restarts: 1, rho: 0.75, momentum: 0.75}
	ce.name = "apgd-ce"
	stages := []Attack{ce}
	if t := min(a.targets, classes-1); classes >= 4 && t >= 1 {
		tg := &APGD{norm: a.norm, loss: models.DLR, iters: a.iters, restarts: 1, rho: 0.75, momentum: 0.75, targets: t}
		tg.name = "apgd-t"
		stages = append(stages, tg)
	}
	if a.norm == Linf {
		sq := &Square{queries: a.queries, pInit: 0.8, loss: models.Margin, restarts: 1}
		sq.name = "square"
		stages = append(stages, sq)
	}
	return stages
}

// Run implements Attack. res.BrokenBy records which stage broke each sample.
func (a *AutoAttack) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	if err := checkBatch(m, b, adv, eps); err != nil {
		return err
	}
	if b.isOutput() {
		return fmt.Errorf("attacks: autoattack needs classes (its stages are targeted or use class-score losses); an output task has none")
	}
	spec := m.Spec()
	n, size, k := b.Len(), spec.Size(), spec.Classes
	copy(adv, b.X)
	if res != nil && res.BrokenBy == nil {
		res.BrokenBy = make([]string, n)
	}
	rows := all(n)
	logits := make([]float32, n*k)
	for _, st := range a.Stages(k) {
		if len(rows) == 0 || eps == 0 {
			break
		}
		na := len(rows)
		sub := Batch{X: make([]float32, na*size), Labels: pick(b.Labels, rows), Index: pick(b.Index, rows)}
		gather(sub.X, b.X, rows, size)
		out := make([]float32, na*size)
		sr := &Result{Queries: make([]int, na)}
		stageSeeds := Seeds{Seed: seeds.Seed, ID: seeds.ID + "/" + st.Name()}
		if err := st.Run(ctx, m, sub, eps, stageSeeds, out, sr); err != nil {
			return err
		}
		if err := m.Logits(ctx, out, na, logits[:na*k]); err != nil {
			return err
		}
		var left []int
		for j, i := range rows {
			if res != nil && res.Queries != nil {
				res.Queries[i] += sr.Queries[j] + 1
			}
			copy(adv[i*size:(i+1)*size], out[j*size:(j+1)*size])
			if broken(logits[j*k:(j+1)*k], b.Labels[i], -1) {
				if res != nil {
					res.BrokenBy[i] = st.Name()
				}
				continue
			}
			left = append(left, i)
		}
		rows = left
	}
	return nil
}
