package reports

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/models"
)

// ProbeEvery selects the samples the extra probes run on: attacked samples
// whose global index is a multiple of it. Selecting by index keeps sharded
// and resumed runs identical to single runs.
const ProbeEvery = 16

// Checks are the per-sample facts the reliability flags are decided from.
// -1 marks a sample a check did not cover.
type Checks struct {
	Deterministic []int           `json:"deterministic"` // 1 when a repeated forward pass gave the same logits, bit for bit
	ProbLike      []int           `json:"prob_like"`     // 1 when the clean outputs are non-negative and sum to 1
	GradStatus    []int           `json:"grad_status"`   // margin-loss input gradient at the clean input: 0 fine, 1 all zero, 2 NaN or Inf; -1 not attacked
	Unbounded     []int           `json:"unbounded"`     // PGD with eps = the whole input range: 1 the sample survived, 0 broken; -1 not probed
	Converge      []ConvergeProbe `json:"converge"`
}

// ConvergeProbe holds, for one iterative attack at one eps, what the same
// attack with twice the iterations did to the probed samples.
type ConvergeProbe struct {
	AttackID string  `json:"attack_id"`
	Doubled  string  `json:"doubled"`
	Norm     string  `json:"norm"`
	Eps      float64 `json:"eps"`
	Broken   []int   `json:"broken"` // 1 broken by the doubled attack, 0 not; -1 not probed
}

// unboundedSteps is the PGD budget of the unbounded-attack probe.
const unboundedSteps = 20

// probeConverge lists the iterative attacks of a plan and the eps the
// convergence check runs them at (the middle non-zero radius).
func (p *Plan) probeConverge() []ConvergeProbe {
	var out []ConvergeProbe
	for _, a := range p.Attacks {
		d, ok := a.(attacks.Doubler)
		if !ok {
			continue
		}
		var nz []Eps
		for _, e := range p.epsFor(a) {
			if e.Value > 0 {
				nz = append(nz, e)
			}
		}
		if len(nz) == 0 {
			continue
		}
		e := nz[len(nz)/2]
		out = append(out, ConvergeProbe{AttackID: a.ID(), Doubled: d.Doubled().ID(), Norm: a.Norm().String(), Eps: e.Value})
	}
	return out
}

func filled(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// runChecks computes the checks of one batch. rows are the attacked samples.
func (p *Plan) runChecks(ctx context.Context, idx, rows, labels []int, x, clean []float32, out *Samples) error {
	m := p.Model
	spec := m.Spec()
	n, size, k := len(idx), spec.Size(), spec.Classes
	c := &Checks{Deterministic: make([]int, n), ProbLike: make([]int, n), GradStatus: filled(n, -1), Unbounded: filled(n, -1)}
	again := make([]float32, len(clean))
	if err := m.Logits(ctx, x, n, again); err != nil {
		return err
	}
	for j := 0; j < n; j++ {
		same := 1
		for q := j * k; q < (j+1)*k; q++ {
			if math.Float32bits(again[q]) != math.Float32bits(clean[q]) {
				same = 0
			}
		}
		c.Deterministic[j] = same
		sum, neg := 0.0, false
		for _, v := range clean[j*k : (j+1)*k] {
			sum += float64(v)
			neg = neg || v < -1e-6
		}
		if !neg && math.Abs(sum-1) < 1e-3 {
			c.ProbLike[j] = 1
		}
	}
	if len(rows) > 0 {
		sub := make([]float32, len(rows)*size)
		subLabels := make([]int, len(rows))
		for q, j := range rows {
			copy(sub[q*size:(q+1)*size], x[j*size:(j+1)*size])
			subLabels[q] = labels[j]
		}
		grad := make([]float32, len(sub))
		if err := m.LossGradient(ctx, sub, len(rows), models.Objective{Loss: models.Margin, Labels: subLabels}, grad, nil, nil); err != nil {
			return err
		}
		for q, j := range rows {
			status := 1
			for _, v := range grad[q*size : (q+1)*size] {
				f := float64(v)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					status = 2
					break
				}
				if v != 0 {
					status = 0
				}
			}
			c.GradStatus[j] = status
		}
	}
	var probe []int
	for _, j := range rows {
		if idx[j]%ProbeEvery == 0 {
			probe = append(probe, j)
		}
	}
	conv := p.probeConverge()
	for i := range conv {
		conv[i].Broken = filled(n, -1)
	}
	c.Converge = conv
	if len(probe) > 0 {
		b := attacks.Batch{X: make([]float32, len(probe)*size), Labels: make([]int, len(probe)), Index: make([]int, len(probe))}
		for q, j := range probe {
			copy(b.X[q*size:(q+1)*size], x[j*size:(j+1)*size])
			b.Labels[q], b.Index[q] = labels[j], idx[j]
		}
		broken := func(a attacks.Attack, eps float64, id string) ([]bool, error) {
			adv := make([]float32, len(b.X))
			if err := a.Run(ctx, m, b, eps, attacks.Seeds{Seed: p.Seed, ID: id}, adv, nil); err != nil {
				return nil, err
			}
			logits := make([]float32, len(probe)*k)
			if err := m.Logits(ctx, adv, len(probe), logits); err != nil {
				return nil, err
			}
			out := make([]bool, len(probe))
			for q := range probe {
				out[q] = argmax(logits[q*k:(q+1)*k]) != b.Labels[q]
			}
			return out, nil
		}
		unbounded, err := attacks.Parse(fmt.Sprintf("pgd:steps=%d", unboundedSteps))
		if err != nil {
			return err
		}
		res, err := broken(unbounded, spec.Hi-spec.Lo, "check/unbounded")
		if err != nil {
			return fmt.Errorf("unbounded-attack check: %w", err)
		}
		for q, j := range probe {
			c.Unbounded[j] = 1
			if res[q] {
				c.Unbounded[j] = 0
			}
		}
		for i := range c.Converge {
			cp := &c.Converge[i]
			var a attacks.Attack
			for _, pa := range p.Attacks {
				if pa.ID() == cp.AttackID {
					a = pa.(attacks.Doubler).Doubled()
				}
			}
			res, err := broken(a, cp.Eps, cp.AttackID)
			if err != nil {
				return fmt.Errorf("convergence check of %s: %w", cp.AttackID, err)
			}
			for q, j := range probe {
				cp.Broken[j] = 0
				if res[q] {
					cp.Broken[j] = 1
				}
			}
		}
	}
	out.Checks = c
	return nil
}

// appendChecks concatenates the checks of a batch.
func (c *Checks) append(b *Checks) {
	c.Deterministic = append(c.Deterministic, b.Deterministic...)
	c.ProbLike = append(c.ProbLike, b.ProbLike...)
	c.GradStatus = append(c.GradStatus, b.GradStatus...)
	c.Unbounded = append(c.Unbounded, b.Unbounded...)
	if len(c.Converge) == 0 {
		for _, cp := range b.Converge {
			c.Converge = append(c.Converge, ConvergeProbe{AttackID: cp.AttackID, Doubled: cp.Doubled, Norm: cp.Norm, Eps: cp.Eps})
		}
	}
	for i := range c.Converge {
		c.Converge[i].Broken = append(c.Converge[i].Broken, b.Converge[i].Broken...)
	}
}

func (c *Checks) check(n int) error {
	if len(c.Deterministic) != n || len(c.ProbLike) != n || len(c.GradStatus) != n || len(c.Unbounded) != n {
		return fmt.Errorf("reports: samples: checks do not cover the %d samples", n)
	}
	for _, cp := range c.Converge {
		if len(cp.Broken) != n {
			return fmt.Errorf("reports: samples: the convergence check of %s does not cover the %d samples", cp.AttackID, n)
		}
	}
	return nil
}

func (c *Checks) permute(perm []int) {
	ints := func(v []int) []int {
		out := make([]int, len(perm))
		for i, p := range perm {
			out[i] = v[p]
		}
		return out
	}
	c.Deterministic, c.ProbLike, c.GradStatus, c.Unbounded = ints(c.Deterministic), ints(c.ProbLike), ints(c.GradStatus), ints(c.Unbounded)
	for i := range c.Converge {
		c.Converge[i].Broken = ints(c.Converge[i].Broken)
	}
}
