package reports

import (
	"context"
	"fmt"

	"github.com/advcheck/advcheck/attacks"
)

// RefinedMinEps holds, per sample, the minimal eps of one norm refined by
// bisection: 0 for clean errors, -1 for samples no attack of the norm broke
// within the largest eps, else the smallest radius found at which one did.
type RefinedMinEps struct {
	Norm   string `json:"norm"`
	Steps  int    `json:"steps"`
	Values []F32  `json:"values"`
}

// refineMinEps bisects, for every attacked sample of the batch, the interval
// of the eps grid in which the worst case of each norm first breaks it:
// p.RefineSteps times, every attack of the norm runs at the midpoint, and the
// interval keeps the half in which some attack succeeds.
func (p *Plan) refineMinEps(ctx context.Context, idx, rows, labels []int, x []float32, out *Samples) error {
	m := p.Model
	spec := m.Spec()
	size, k := spec.Size(), spec.Classes
	n := len(idx)
	attacked := map[int]bool{}
	for _, j := range rows {
		attacked[j] = true
	}
	for _, norm := range []attacks.Norm{attacks.Linf, attacks.L2, attacks.L1} {
		var as []attacks.Attack
		for _, a := range p.Attacks {
			if a.Norm() == norm {
				as = append(as, a)
			}
		}
		grid := p.Eps[norm]
		if len(as) == 0 || len(grid) == 0 {
			continue
		}
		rec := RefinedMinEps{Norm: norm.String(), Steps: p.RefineSteps, Values: make([]F32, n)}
		lo, hi := make([]float64, n), make([]float64, n)
		var open []int
		for j := 0; j < n; j++ {
			if !attacked[j] {
				continue // a clean error: minimal eps 0
			}
			rec.Values[j] = -1
			prev := 0.0
			for _, e := range grid {
				broken := false
				for _, o := range out.Outcomes {
					if o.Norm == norm.String() && o.Eps == e.Value && o.Pred[j] != labels[j] {
						broken = true
					}
				}
				if broken {
					lo[j], hi[j] = prev, e.Value
					rec.Values[j] = F32(e.Value)
					open = append(open, j)
					break
				}
				prev = e.Value
			}
		}
		for step := 0; step < p.RefineSteps && len(open) > 0; step++ {
			b := attacks.Batch{X: make([]float32, len(open)*size), Labels: make([]int, len(open)), Index: make([]int, len(open))}
			for q, j := range open {
				copy(b.X[q*size:(q+1)*size], x[j*size:(j+1)*size])
				b.Labels[q], b.Index[q] = labels[j], idx[j]
			}
			broken := make([]bool, len(open))
			// Each sample runs at its own midpoint: group the samples by it.
			mids := map[float64][]int{}
			for q, j := range open {
				mid := (lo[j] + hi[j]) / 2
				mids[mid] = append(mids[mid], q)
			}
			for mid, qs := range mids {
				sub := attacks.Batch{X: make([]float32, len(qs)*size), Labels: make([]int, len(qs)), Index: make([]int, len(qs))}
				for r, q := range qs {
					copy(sub.X[r*size:(r+1)*size], b.X[q*size:(q+1)*size])
					sub.Labels[r], sub.Index[r] = b.Labels[q], b.Index[q]
				}
				for _, a := range as {
					adv := make([]float32, len(sub.X))
					if err := a.Run(ctx, m, sub, mid, attacks.Seeds{Seed: p.Seed, ID: a.ID()}, adv, nil); err != nil {
						return fmt.Errorf("refining the minimal eps with %s: %w", a.ID(), err)
					}
					logits := make([]float32, len(qs)*k)
					if err := m.Logits(ctx, adv, len(qs), logits); err != nil {
						return err
					}
					for r, q := range qs {
						if argmax(logits[r*k:(r+1)*k]) != sub.Labels[r] {
							broken[q] = true
						}
					}
				}
			}
			for q, j := range open {
				mid := (lo[j] + hi[j]) / 2
				if broken[q] {
					hi[j] = mid
				} else {
					lo[j] = mid
				}
				rec.Values[j] = F32(hi[j])
			}
		}
		out.Refined = append(out.Refined, rec)
	}
	return nil
}
