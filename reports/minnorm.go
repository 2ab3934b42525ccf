package reports

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/models"
)

// MinNorms holds, per sample, the minimal perturbation norm one minimal-norm
// attack found (attacks.Minimizer): 0 for clean errors (never attacked), -1
// for samples it did not break, else the distance of its minimal adversarial
// point in the attack's norm.
type MinNorms struct {
	AttackID string `json:"attack_id"`
	Norm     string `json:"norm"`
	Values   []F32  `json:"values"`
}

// MinNormSummary is the distribution of one minimal-norm attack's per-sample
// minimal norms over the attacked samples (unbroken ones count as +∞, so a
// quantile they decide is null), and the robustness curve they give: the
// accuracy at eps is the fraction of all samples classified correctly whose
// minimal norm exceeds eps.
type MinNormSummary struct {
	AttackID  string       `json:"attack_id"`
	Norm      string       `json:"norm"`
	NAttacked int          `json:"n_attacked"`
	NBroken   int          `json:"n_broken"`
	Median    Num          `json:"median"`
	P25       Num          `json:"p25"`
	P75       Num          `json:"p75"`
	Curve     []CurvePoint `json:"curve"`
}

// CurvePoint is one step of a robustness curve: the accuracy from Eps on
// (up to the next point's eps).
type CurvePoint struct {
	Eps      float64 `json:"eps"`
	Accuracy Num     `json:"accuracy"`
}

// minNormLayout returns the minimal-norm records a configuration produces,
// in attack order.
func minNormLayout(c Config) []MinNorms {
	var out []MinNorms
	for _, a := range c.Attacks {
		if attacks.IsMinimizer(a.Name) {
			out = append(out, MinNorms{AttackID: a.AttackID, Norm: a.Norm})
		}
	}
	return out
}

// runMinimizer runs a minimal-norm attack once on the attacked samples and
// answers every eps of its grid from the result (attacks.AtEps); dist
// receives each attacked sample's minimal norm.
func runMinimizer(ctx context.Context, a attacks.Minimizer, m models.Model, sub attacks.Batch, eps []Eps, seeds attacks.Seeds, advs [][]float32, results []*attacks.Result) ([]float64, error) {
	best := make([]float32, len(sub.X))
	dist := make([]float64, sub.Len())
	r := &attacks.Result{Queries: make([]int, sub.Len())}
	if err := a.Minimize(ctx, m, sub, seeds, best, dist, r); err != nil {
		return nil, err
	}
	spec := m.Spec()
	for e := range eps {
		attacks.AtEps(a.Norm(), sub.X, best, dist, eps[e].Value, spec.Lo, spec.Hi, advs[e])
		copy(results[e].Queries, r.Queries)
	}
	return dist, nil
}

// minNormValues turns the minimal norms of the attacked rows into a record
// over all n samples of a batch.
func minNormValues(n int, rows []int, dist []float64) []F32 {
	v := make([]F32, n)
	for q, j := range rows {
		if math.IsInf(dist[q], 1) {
			v[j] = -1
		} else {
			v[j] = F32(dist[q])
		}
	}
	return v
}

// reduceMinNorms summarises every minimal-norm record.
func reduceMinNorms(s *Samples) []MinNormSummary {
	n := len(s.Index)
	var out []MinNormSummary
	for _, mn := range s.MinNorms {
		sum := MinNormSummary{AttackID: mn.AttackID, Norm: mn.Norm}
		var vals, broken []float64
		for i, v := range mn.Values {
			if s.CleanPred[i] != s.Label[i] {
				continue
			}
			sum.NAttacked++
			if v < 0 {
				vals = append(vals, math.Inf(1))
				continue
			}
			sum.NBroken++
			vals = append(vals, float64(v))
			broken = append(broken, float64(v))
		}
		sum.Median, sum.P25, sum.P75 = quantile(vals, 50), quantile(vals, 25), quantile(vals, 75)
		sort.Float64s(broken)
		sum.Curve = []CurvePoint{{Eps: 0, Accuracy: ratio(sum.NAttacked, n)}}
		left := sum.NAttacked
		for k := 0; k < len(broken); {
			e := broken[k]
			for k < len(broken) && broken[k] == e {
				left--
				k++
			}
			if e == 0 {
				sum.Curve[0].Accuracy = ratio(left, n)
				continue
			}
			sum.Curve = append(sum.Curve, CurvePoint{Eps: e, Accuracy: ratio(left, n)})
		}
		out = append(out, sum)
	}
	return out
}

// quantile is metrics.Percentile with +∞ (an unbroken sample) allowed; a
// quantile that is not finite is null.
func quantile(v []float64, q float64) Num {
	if len(v) == 0 {
		return Num(math.NaN())
	}
	x := metrics.Percentile(v, q)
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return Num(math.NaN())
	}
	return Num(x)
}

// checkMinNorms validates the minimal-norm records of a report read from a
// file: one per minimal-norm attack of the configuration, in its order, each
// value 0 exactly for the clean errors, and -1 or a positive finite norm for
// the attacked samples.
func (s *Samples) checkMinNorms(c Config) error {
	want := minNormLayout(c)
	if len(s.MinNorms) != len(want) {
		return fmt.Errorf("samples.min_norms holds %d records; the configuration has %d minimal-norm attacks", len(s.MinNorms), len(want))
	}
	for k, mn := range s.MinNorms {
		if mn.AttackID != want[k].AttackID || mn.Norm != want[k].Norm {
			return fmt.Errorf("samples.min_norms[%d] is %s (%s); the configuration puts %s (%s) there", k, mn.AttackID, mn.Norm, want[k].AttackID, want[k].Norm)
		}
		if len(mn.Values) != len(s.Index) {
			return fmt.Errorf("samples.min_norms[%d] has %d values for %d samples", k, len(mn.Values), len(s.Index))
		}
		for i, v := range mn.Values {
			f := float64(v)
			attacked := s.CleanPred[i] == s.Label[i]
			if math.IsNaN(f) || math.IsInf(f, 0) || (!attacked && f != 0) || (attacked && f != -1 && f <= 0) {
				return fmt.Errorf("samples.min_norms[%d].values[%d] = %v: want 0 for a clean error, -1 (unbroken) or a positive norm", k, i, f)
			}
		}
	}
	return nil
}
