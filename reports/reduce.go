package reports

import (
	"fmt"
	"math"
	"sort"

	"github.com/advcheck/advcheck/metrics"
)

func ratio(k, n int) Num {
	if n == 0 {
		return Num(math.NaN())
	}
	return Num(float64(k) / float64(n))
}

func wilson(k, n int) [2]Num {
	lo, hi := metrics.Wilson(k, n)
	return [2]Num{Num(lo), Num(hi)}
}

func f64s(v []F32, keep func(i int) bool) []float64 {
	var out []float64
	for i, x := range v {
		if keep == nil || keep(i) {
			out = append(out, float64(x))
		}
	}
	return out
}

// Reduce recomputes every figure of the report — clean accuracy, results,
// worst case and summary — from r.Samples and r.Config, in sample-index order
// and float64, and sets the flags it can decide. It is deterministic: the
// same samples give the same bytes.
func (r *Report) Reduce() error {
	s := r.Samples
	if s == nil {
		return fmt.Errorf("reports: the report has no per-sample outcomes")
	}
	if err := s.check(); err != nil {
		return err
	}
	s.sortByIndex()
	if r.Config.Task == TaskEmbedding {
		return r.reduceEmbedding()
	}
	n := len(s.Index)
	r.Dataset.Samples = n
	correct := 0
	for i := range s.Index {
		if s.CleanPred[i] == s.Label[i] {
			correct++
		}
	}
	r.Clean = Clean{N: n, NCorrect: correct, Accuracy: ratio(correct, n), AccuracyCI95: wilson(correct, n)}
	requested := map[string]map[float64]string{}
	for _, e := range r.Config.Eps {
		if requested[e.Norm] == nil {
			requested[e.Norm] = map[float64]string{}
		}
		requested[e.Norm][e.Value] = e.Requested
	}
	names := map[string]string{}
	for _, a := range r.Config.Attacks {
		names[a.AttackID] = a.Name
	}
	r.Results = []Result{}
	for _, o := range s.Outcomes {
		r.Results = append(r.Results, reduceOutcome(s, o, names[o.AttackID], requested[o.Norm][o.Eps]))
	}
	r.WorstCase, r.Summary.MinimalEps = worstCase(s, r.Config)
	r.Summary.MinNorm = reduceMinNorms(s)
	r.Corruptions = r.reduceCorruptions()
	r.reduceCertified(requested)
	r.Summary.AUC = []AUC{}
	for _, a := range r.Config.Attacks {
		var xs, ys []float64
		for _, res := range r.Results {
			if res.AttackID == a.AttackID {
				xs, ys = append(xs, res.Eps), append(ys, float64(res.Accuracy))
			}
		}
		r.Summary.AUC = append(r.Summary.AUC, AUC{AttackID: a.AttackID, Norm: a.Norm, Value: auc(xs, ys, float64(r.Clean.Accuracy))})
	}
	for _, norm := range Norms {
		var xs, ys []float64
		for _, w := range r.WorstCase {
			if w.Norm == norm {
				xs, ys = append(xs, w.Eps), append(ys, float64(w.Accuracy))
			}
		}
		if len(xs) > 0 {
			r.Summary.AUC = append(r.Summary.AUC, AUC{AttackID: "worst_case", Norm: norm, Value: auc(xs, ys, float64(r.Clean.Accuracy))})
		}
	}
	r.flagNulls()
	return nil
}

// auc adds the eps = 0 point (clean accuracy) when the grid lacks it.
func auc(xs, ys []float64, clean float64) Num {
	has0 := false
	for _, x := range xs {
		has0 = has0 || x == 0
	}
	if !has0 {
		xs, ys = append([]float64{0}, xs...), append([]float64{clean}, ys...)
	}
	return Num(metrics.AUC(xs, ys))
}

func reduceOutcome(s *Samples, o Outcomes, name, requested string) Result {
	n := len(s.Index)
	res := Result{AttackID: o.AttackID, Attack: name, Norm: o.Norm, Eps: o.Eps, EpsRequested: requested, N: n}
	attacked := func(i int) bool { return s.CleanPred[i] == s.Label[i] }
	queries := 0.0
	for i := 0; i < n; i++ {
		if o.Pred[i] == s.Label[i] {
			res.NCorrect++
		}
		if !attacked(i) {
			continue
		}
		res.NAttacked++
		queries += float64(o.Queries[i])
		t := -1
		if o.Target != nil {
			t = o.Target[i]
		}
		if (t >= 0 && o.Pred[i] == t) || (t < 0 && o.Pred[i] != s.Label[i]) {
			res.NSuccess++
		}
	}
	res.Accuracy, res.AccuracyCI95 = ratio(res.NCorrect, n), wilson(res.NCorrect, n)
	res.AttackSuccessRate = ratio(res.NSuccess, res.NAttacked)
	res.QueriesMean = Num(math.NaN())
	if res.NAttacked > 0 {
		res.QueriesMean = Num(queries / float64(res.NAttacked))
	}
	// Every output-movement figure covers the attacked samples only, like the
	// perturbation norms: a sample left unattacked keeps its clean output
	// (cosine 1, KL 0) and would dilute the mean towards "did not move".
	// With none attacked the figures are NaN, written as null with a flag.
	cl, cp := f64s(o.CosLogits, attacked), f64s(o.CosProbs, attacked)
	res.Cosine = CosineStats{
		Logits: Spread{Num(metrics.Mean(cl)), Num(metrics.Percentile(cl, 5)), Num(metrics.Min(cl))},
		Probs:  Spread{Num(metrics.Mean(cp)), Num(metrics.Percentile(cp, 5)), Num(metrics.Min(cp))},
	}
	kl := f64s(o.KL, attacked)
	res.KL = KLStats{Num(metrics.Mean(kl)), Num(metrics.Percentile(kl, 95))}
	res.Perturbation = perturbation(o, attacked)
	return res
}

// perturbation summarises the norms of the samples keep selects (all for
// nil). l1_mean is left out when the outcome set holds samples but no L1
// norms: a report written before they were recorded.
func perturbation(o Outcomes, keep func(i int) bool) Perturbation {
	li, l2 := f64s(o.Linf, keep), f64s(o.L2, keep)
	p := Perturbation{LinfMax: Num(metrics.Max(li)), LinfMean: Num(metrics.Mean(li)), L2Mean: Num(metrics.Mean(l2))}
	if len(o.L1) == len(o.Pred) {
		l1 := Num(metrics.Mean(f64s(o.L1, keep)))
		p.L1Mean = &l1
	}
	return p
}

// worstCase computes, per norm and eps, the samples that every attack of the
// norm failed to break at that eps and at every smaller one, and per norm the
// median minimal eps.
func worstCase(s *Samples, cfg Config) ([]WorstCase, []MinimalEps) {
	n := len(s.Index)
	rows := []WorstCase{}
	mins := []MinimalEps{}
	for _, norm := range Norms {
		var grid []float64
		var ids []string
		for _, e := range cfg.Eps {
			if e.Norm == norm {
				grid = append(grid, e.Value)
			}
		}
		for _, a := range cfg.Attacks {
			if a.Norm == norm {
				ids = append(ids, a.AttackID)
			}
		}
		if len(ids) == 0 || len(grid) == 0 {
			continue
		}
		sort.Float64s(grid)
		robust := make([]bool, n)
		minEps := make([]float64, n)
		for i := range robust {
			robust[i] = s.CleanPred[i] == s.Label[i]
			minEps[i] = math.Inf(1)
			if !robust[i] {
				minEps[i] = 0
			}
		}
		for _, eps := range grid {
			for _, o := range s.Outcomes {
				if o.Norm != norm || o.Eps != eps {
					continue
				}
				for i := range robust {
					if robust[i] && o.Pred[i] != s.Label[i] {
						robust[i] = false
						minEps[i] = eps
					}
				}
			}
			k := 0
			for _, r := range robust {
				if r {
					k++
				}
			}
			rows = append(rows, WorstCase{Norm: norm, Eps: eps, N: n, NRobust: k, Accuracy: ratio(k, n), AccuracyCI95: wilson(k, n), Attacks: ids})
		}
		// A minimal-norm attack's per-sample norm is a finer minimal eps
		// than the grid's: the smallest breaking perturbation known wins.
		for _, mn := range s.MinNorms {
			if mn.Norm != norm {
				continue
			}
			for i, v := range mn.Values {
				if v > 0 && s.CleanPred[i] == s.Label[i] && float64(v) < minEps[i] {
					minEps[i] = float64(v)
				}
			}
		}
		steps := 0
		for _, rf := range s.Refined {
			if rf.Norm == norm {
				steps = rf.Steps
				for i, v := range rf.Values {
					if v >= 0 && s.CleanPred[i] == s.Label[i] {
						minEps[i] = float64(v)
					}
				}
			}
		}
		unbroken := 0
		for _, e := range minEps {
			if math.IsInf(e, 1) {
				unbroken++
			}
		}
		med := Num(math.NaN())
		if n > 0 {
			if m := metrics.Median(minEps); !math.IsInf(m, 0) && !math.IsNaN(m) {
				med = Num(m)
			}
		}
		mins = append(mins, MinimalEps{Norm: norm, Median: med, SamplesUnbroken: unbroken, BisectionSteps: steps})
	}
	return rows, mins
}

// flagNulls records a flag for every figure that could not be computed.
func (r *Report) flagNulls() {
	kept := []Flag{}
	derived := reliabilityIDs()
	for _, f := range r.Flags {
		if f.ID != "null_metric" && !derived[f.ID] {
			kept = append(kept, f)
		}
	}
	r.Flags = append(kept, r.reliabilityFlags()...)
	add := func(msg string) {
		r.Flags = append(r.Flags, Flag{ID: "null_metric", Severity: "info", Message: msg})
	}
	if !r.Clean.Accuracy.Valid() {
		add("clean accuracy is null: the report has no samples")
	}
	for _, res := range r.Results {
		if res.NAttacked == 0 && res.N > 0 {
			add(fmt.Sprintf("%s at eps %g: attack_success_rate, queries_mean, cosine, kl and perturbation are null: no sample was attacked, as none was classified correctly before the attack", res.AttackID, res.Eps))
			continue
		}
		if !res.Cosine.Logits.Mean.Valid() {
			add(fmt.Sprintf("%s at eps %g: cosine similarity is null: the model produced non-finite outputs", res.AttackID, res.Eps))
		}
	}
	for _, m := range r.Summary.MinimalEps {
		if !m.Median.Valid() && r.Clean.N > 0 {
			add(fmt.Sprintf("%s: median minimal eps is null: more than half the samples are unbroken at the largest eps", m.Norm))
		}
	}
	if c := r.Corruptions; c != nil && r.Clean.N > 0 {
		for _, res := range c.Results {
			if !res.Cosine.Logits.Mean.Valid() {
				add(fmt.Sprintf("corruption %s at severity %d: cosine similarity is null: the model produced non-finite outputs", res.Corruption, res.Severity))
			}
		}
		if m := c.MCE; m != nil {
			for _, ce := range m.Corruptions {
				if !ce.CE.Valid() || !ce.RelativeCE.Valid() {
					add(fmt.Sprintf("corruption %s: its corruption error (or relative error) is null: the baseline's errors on it sum to zero (or equal its clean error), so there is nothing to divide by; mce and relative_mce are null with it", ce.Corruption))
				}
			}
		}
	}
}

// check validates the shape of per-sample data (e.g. from a file).
func (s *Samples) check() error {
	n := len(s.Index)
	if len(s.Label) != n || len(s.CleanPred) != n {
		return fmt.Errorf("reports: samples: %d indices, %d labels, %d clean predictions", n, len(s.Label), len(s.CleanPred))
	}
	for _, o := range s.Outcomes {
		if len(o.Pred) != n || len(o.CosLogits) != n || len(o.CosProbs) != n || len(o.KL) != n || len(o.Linf) != n || len(o.L2) != n || (o.L1 != nil && len(o.L1) != n) || len(o.Queries) != n || (o.Target != nil && len(o.Target) != n) {
			return fmt.Errorf("reports: samples: outcomes of %s at eps %g do not cover the %d samples", o.AttackID, o.Eps, n)
		}
	}
	if s.Checks != nil {
		if err := s.Checks.check(n); err != nil {
			return err
		}
	}
	for _, o := range s.Corrupted {
		if len(o.Pred) != n || len(o.CosLogits) != n || len(o.CosProbs) != n {
			return fmt.Errorf("reports: samples: outcomes of %s do not cover the %d samples", corruptionKey{o.Corruption, o.Severity}, n)
		}
	}
	for _, mn := range s.MinNorms {
		if len(mn.Values) != n {
			return fmt.Errorf("reports: samples: minimal norms of %s do not cover the %d samples", mn.AttackID, n)
		}
	}
	for _, c := range s.Certified {
		for _, v := range c.Certified {
			if len(v) != n {
				return fmt.Errorf("reports: samples: certificates of %s do not cover the %d samples", c.CertifyID, n)
			}
		}
		if (c.Certified != nil && len(c.StoppedBy) != n) || (c.Pred != nil && (len(c.Pred) != n || len(c.Radius) != n)) {
			return fmt.Errorf("reports: samples: certificates of %s do not cover the %d samples", c.CertifyID, n)
		}
	}
	for _, rf := range s.Refined {
		if len(rf.Values) != n {
			return fmt.Errorf("reports: samples: refined minimal eps of %s do not cover the %d samples", rf.Norm, n)
		}
	}
	seen := map[int]bool{}
	for _, i := range s.Index {
		if seen[i] {
			return fmt.Errorf("reports: samples: index %d appears twice", i)
		}
		seen[i] = true
	}
	return nil
}

// sortByIndex orders every per-sample array by sample index.
func (s *Samples) sortByIndex() {
	n := len(s.Index)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(a, b int) bool { return s.Index[perm[a]] < s.Index[perm[b]] })
	sorted := true
	for i, p := range perm {
		sorted = sorted && i == p
	}
	if sorted {
		return
	}
	ints := func(v []int) []int {
		if v == nil {
			return nil
		}
		out := make([]int, n)
		for i, p := range perm {
			out[i] = v[p]
		}
		return out
	}
	f32 := func(v []F32) []F32 {
		if v == nil {
			return nil
		}
		out := make([]F32, n)
		for i, p := range perm {
			out[i] = v[p]
		}
		return out
	}
	s.Index, s.Label, s.CleanPred = ints(s.Index), ints(s.Label), ints(s.CleanPred)
	for k := range s.Outcomes {
		o := &s.Outcomes[k]
		o.Pred, o.Target, o.Queries = ints(o.Pred), ints(o.Target), ints(o.Queries)
		o.CosLogits, o.CosProbs, o.KL, o.Linf, o.L2, o.L1 = f32(o.CosLogits), f32(o.CosProbs), f32(o.KL), f32(o.Linf), f32(o.L2), f32(o.L1)
	}
	if s.Checks != nil {
		s.Checks.permute(perm)
	}
	for k := range s.Refined {
		s.Refined[k].Values = f32(s.Refined[k].Values)
	}
	for k := range s.MinNorms {
		s.MinNorms[k].Values = f32(s.MinNorms[k].Values)
	}
	for k := range s.Corrupted {
		o := &s.Corrupted[k]
		o.Pred, o.CosLogits, o.CosProbs = ints(o.Pred), f32(o.CosLogits), f32(o.CosProbs)
	}
	s.permuteCertified(perm)
}

// reduceEmbedding is Reduce for an embedding task (config.task): every
// sample was attacked, and the figures are the cosine similarity of clean
// and adversarial outputs (cosine.outputs), the perturbation norms and the
// queries. What needs classes is null — accuracy, its interval, the attack
// success rate, the softmax cosine and the KL divergence — or empty: the
// worst case, the AUC and the minimal eps. n_correct and n_success are 0.
func (r *Report) reduceEmbedding() error {
	s := r.Samples
	n := len(s.Index)
	r.Dataset.Samples = n
	null := Num(math.NaN())
	nulls := [2]Num{null, null}
	r.Clean = Clean{N: n, Accuracy: null, AccuracyCI95: nulls}
	requested := map[string]map[float64]string{}
	for _, e := range r.Config.Eps {
		if requested[e.Norm] == nil {
			requested[e.Norm] = map[float64]string{}
		}
		requested[e.Norm][e.Value] = e.Requested
	}
	names := map[string]string{}
	for _, a := range r.Config.Attacks {
		names[a.AttackID] = a.Name
	}
	r.Results = []Result{}
	for _, o := range s.Outcomes {
		res := Result{AttackID: o.AttackID, Attack: names[o.AttackID], Norm: o.Norm, Eps: o.Eps, EpsRequested: requested[o.Norm][o.Eps],
			N: n, NAttacked: n, Accuracy: null, AccuracyCI95: nulls, AttackSuccessRate: null, QueriesMean: null}
		queries := 0.0
		for _, q := range o.Queries {
			queries += float64(q)
		}
		if n > 0 {
			res.QueriesMean = Num(queries / float64(n))
		}
		co := f64s(o.CosLogits, nil)
		nullSpread := Spread{null, null, null}
		res.Cosine = CosineStats{Logits: nullSpread, Probs: nullSpread,
			Outputs: &Spread{Num(metrics.Mean(co)), Num(metrics.Percentile(co, 5)), Num(metrics.Min(co))}}
		res.KL = KLStats{null, null}
		res.Perturbation = perturbation(o, nil)
		r.Results = append(r.Results, res)
	}
	r.WorstCase, r.Summary.AUC, r.Summary.MinimalEps = []WorstCase{}, []AUC{}, []MinimalEps{}
	kept := []Flag{}
	for _, f := range r.Flags {
		if f.ID != "null_metric" {
			kept = append(kept, f)
		}
	}
	r.Flags = append(kept, Flag{ID: "null_metric", Severity: "info", Message: "embedding task: accuracy, attack success, the softmax cosine and KL are null, and worst case, AUC and minimal eps absent: the outputs are not class scores"})
	for _, res := range r.Results {
		if !res.Cosine.Outputs.Mean.Valid() && n > 0 {
			r.Flags = append(r.Flags, Flag{ID: "null_metric", Severity: "info", Message: fmt.Sprintf("%s at eps %g: cosine similarity is null: the model produced non-finite or zero outputs", res.AttackID, res.Eps)})
		}
	}
	return nil
}
