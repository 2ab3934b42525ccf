package attacks

import (
	"context"
	"fmt"

	"github.com/advcheck/advcheck/models"
)

// AutoAttack runs the AutoAttack protocol (Croce & Hein 2020) as the
// authors' reference code defines it, each attack only on the samples the
// ones before did not break:
//
//   - version=standard (the number RobustBench publishes), L∞ and L2:
//     APGD-CE (100 iterations, 1 restart), APGD-T (9 target classes,
//     100 iterations each), FAB-T (9 target classes, 100 iterations each),
//     Square (5,000 queries, p_init 0.8); L1 (Croce & Hein 2021): the same
//     with APGD-CE at 5 restarts and APGD-T at 5 target classes, both with
//     the large-eps schedule (large_eps), and FAB-T and Square in L1;
//   - version=rand, for randomised models: APGD-CE and APGD-DLR, each with
//     1 restart and the gradient averaged over 20 samples per step
//     (expectation over transformation).
//
// Target classes are capped at classes − 1 (APGD-T needs ≥ 4 classes and
// is left out below).
type AutoAttack struct {
	base
	normName string
	norm     Norm
	version  string
	iters    int
	targets  int
	queries  int
	eot      int

	// onStage, when set, is called after each stage with the stage's name
	// and the number of samples still robust (the comparison with the
	// reference logs its progress through it).
	onStage func(stage string, robust int)
}

func init() {
	register("autoattack", "AutoAttack: standard (APGD-CE → APGD-T → FAB-T → Square on the survivors) or rand (APGD-CE, APGD-DLR with EOT)", func() (Attack, *base, func() error) {
		a := &AutoAttack{normName: "linf", version: "standard", iters: 100, targets: 9, queries: 5000, eot: 20}
		a.name = "autoattack"
		a.bind(
			param{name: "norm", doc: "linf, l2 or l1", ptr: &a.normName},
			param{name: "version", doc: "standard, or rand for randomised models", ptr: &a.version},
			param{name: "iters", doc: "APGD and FAB iterations", ptr: &a.iters},
			param{name: "targets", doc: "APGD-T and FAB-T target classes (capped at classes − 1; L1: APGD-T at most 5)", ptr: &a.targets},
			param{name: "queries", doc: "Square queries", ptr: &a.queries},
			param{name: "eot", doc: "version=rand: gradients averaged per APGD step", ptr: &a.eot},
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
			if a.norm == L1 && a.iters < 3 {
				return fmt.Errorf("norm=l1 needs at least 3 iters (its APGD runs three phases)")
			}
			if a.iters < 1 || a.targets < 1 || a.queries < 1 || a.eot < 1 {
				return fmt.Errorf("iters, targets, queries and eot must be positive")
			}
			if a.version != "standard" && a.version != "rand" {
				return fmt.Errorf("version=%q: want standard or rand", a.version)
			}
			return nil
		}
	})
}

// Norm implements Attack.
func (a *AutoAttack) Norm() Norm { return a.norm }

// Stages returns the component attacks for a model with the given classes.
func (a *AutoAttack) Stages(classes int) []Attack {
	var specs []string
	if a.version == "rand" {
		specs = append(specs, fmt.Sprintf("apgd-ce:norm=%s,iters=%d,restarts=1,eot=%d", a.norm, a.iters, a.eot))
		if classes >= 3 {
			specs = append(specs, fmt.Sprintf("apgd-dlr:norm=%s,iters=%d,restarts=1,eot=%d", a.norm, a.iters, a.eot))
		}
	} else {
		// The reference's L1 version (set_version): more APGD-CE restarts,
		// fewer APGD-T targets, both with the large-eps schedule.
		restarts, apgdT, large := 1, a.targets, ""
		if a.norm == L1 {
			restarts, apgdT, large = 5, min(a.targets, 5), ",large_eps=true"
		}
		specs = append(specs, fmt.Sprintf("apgd-ce:norm=%s,iters=%d,restarts=%d%s", a.norm, a.iters, restarts, large))
		t := min(a.targets, classes-1)
		if ta := min(apgdT, classes-1); classes >= 4 && ta >= 1 {
			specs = append(specs, fmt.Sprintf("apgd-t:norm=%s,iters=%d,restarts=1,targets=%d%s", a.norm, a.iters, ta, large))
		}
		if t >= 1 {
			specs = append(specs, fmt.Sprintf("fab-t:norm=%s,iters=%d,restarts=1,targets=%d", a.norm, a.iters, t))
		}
		specs = append(specs, fmt.Sprintf("square:norm=%s,queries=%d,p_init=0.8,loss=margin,restarts=1", a.norm, a.queries))
	}
	stages := make([]Attack, len(specs))
	for i, spec := range specs {
		st, err := parse(spec, false)
		if err != nil {
			panic("attacks: autoattack stage " + spec + ": " + err.Error())
		}
		stages[i] = st
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
		if a.onStage != nil {
			a.onStage(st.Name(), len(rows))
		}
	}
	return nil
}
