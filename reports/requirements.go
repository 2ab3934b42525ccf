package reports

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/advcheck/advcheck/metrics"
)

// ErrBaseline is wrapped when a baseline report cannot be compared.
var ErrBaseline = errors.New("baseline cannot be compared")

// ErrPolicy is wrapped by every error in a policy (see package gate, which
// reads policy files) and when a requirement cannot be applied.
var ErrPolicy = errors.New("bad policy")

// Requirement is one check of a policy.
type Requirement struct {
	Kind      string  // min_accuracy, min_cosine, max_kl, min_clean_accuracy, max_flags, no_regression, min_median_min_norm
	Threshold float64 // the bound (alpha for no_regression)
	Attack    string  // attack id or name; "" for worst case
	WorstCase string  // norm, for a worst-case requirement
	Eps       float64
	HasEps    bool
	Use       string         // point or lower_ci (min_accuracy, min_clean_accuracy); mean or p5 (min_cosine); mean or p95 (max_kl)
	Flags     map[string]int // max_flags: severity → maximum count
	// min_corruption_accuracy: the corruption and severity it bounds; ""
	// and 0 pool over every corruption and severity (overall, per
	// severity or per corruption). use lower_ci needs both.
	Corruption string
	// Certify is the certification method (its certify_id, or a method
	// name used once) a min_certified_accuracy requirement bounds; ""
	// with WorstCase for the union of the methods certifying the model.
	Certify  string
	Severity int
	Line     int
}

func epsEqual(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func fmtEps(e float64) string { return strconv.FormatFloat(e, 'g', -1, 64) }

// resolveAttack returns the attack_id an attack of a requirement names: its
// attack_id, or its name when exactly one attack has that name.
func (r *Report) resolveAttack(attack string) (string, error) {
	for _, a := range r.Config.Attacks {
		if a.AttackID == attack {
			return attack, nil
		}
	}
	var ids []string
	for _, a := range r.Config.Attacks {
		if a.Name == attack {
			ids = append(ids, a.AttackID)
		}
	}
	switch len(ids) {
	case 0:
		return attack, fmt.Errorf("attack %s is not in the report", attack)
	case 1:
		return ids[0], nil
	}
	return attack, fmt.Errorf("attack %s is ambiguous: the report has %v", attack, ids)
}

// findResult returns the result row of an attack (by attack_id, or by name
// when exactly one attack has that name) at eps.
func (r *Report) findResult(attack string, eps float64) (*Result, string, error) {
	id, err := r.resolveAttack(attack)
	if err != nil {
		return nil, id, err
	}
	for i := range r.Results {
		if r.Results[i].AttackID == id && epsEqual(r.Results[i].Eps, eps) {
			return &r.Results[i], id, nil
		}
	}
	return nil, id, fmt.Errorf("%s at eps %s is not in the report", id, fmtEps(eps))
}

// findMinNorm returns the minimal-norm summary of an attack (by attack_id,
// or by name when exactly one attack has that name).
func (r *Report) findMinNorm(attack string) (*MinNormSummary, string, error) {
	id, err := r.resolveAttack(attack)
	if err != nil {
		return nil, id, err
	}
	for i := range r.Summary.MinNorm {
		if r.Summary.MinNorm[i].AttackID == id {
			return &r.Summary.MinNorm[i], id, nil
		}
	}
	return nil, id, fmt.Errorf("%s has no minimal norms in the report (only cw, deepfool, fmn, fab and fab-t have)", id)
}

func (r *Report) findWorst(norm string, eps float64) (*WorstCase, error) {
	for i := range r.WorstCase {
		if r.WorstCase[i].Norm == norm && epsEqual(r.WorstCase[i].Eps, eps) {
			return &r.WorstCase[i], nil
		}
	}
	return nil, fmt.Errorf("the worst case for %s at eps %s is not in the report", norm, fmtEps(eps))
}

// CheckID is the stable identifier of a requirement (resolved is the
// attack id its attack resolved to in the report; "" keeps the policy's
// spelling), e.g. worst_case/linf/0.3/min_accuracy,
// attack/pgd/0.3/min_accuracy or min_norm/fmn:norm=l2/min_median_min_norm.
func (q Requirement) CheckID(resolved string) string {
	if resolved == "" {
		resolved = q.Attack
	}
	switch {
	case q.Kind == "min_median_min_norm":
		return "min_norm/" + resolved + "/" + q.Kind
	case q.Kind == "min_clean_accuracy":
		return "clean/min_accuracy"
	case q.Kind == "min_certified_accuracy" && q.WorstCase == "":
		if resolved == "" {
			resolved = q.Certify
		}
		return "certified/" + resolved + "/" + fmtEps(q.Eps) + "/" + q.Kind
	case q.Kind == "min_corruption_accuracy":
		c, s := "all", "all"
		if q.Corruption != "" {
			c = q.Corruption
		}
		if q.Severity > 0 {
			s = strconv.Itoa(q.Severity)
		}
		return "corruptions/" + c + "/" + s + "/" + q.Kind
	case q.Kind == "max_flags":
		return "flags/max_flags"
	case q.WorstCase != "":
		return "worst_case/" + q.WorstCase + "/" + fmtEps(q.Eps) + "/" + q.Kind
	}
	return "attack/" + resolved + "/" + fmtEps(q.Eps) + "/" + q.Kind
}

func statOf(use string) string {
	if use == "lower_ci" {
		return " (lower 95% bound)"
	}
	if use == "point" || use == "" {
		return ""
	}
	return " (" + use + ")"
}

func fmtNum(v Num) string {
	if !v.Valid() {
		return "null"
	}
	return strconv.FormatFloat(float64(v), 'g', 6, 64)
}

// ApplyRequirements checks every requirement against r (and baseline, for
// no_regression requirements) and records the verdict in r.Gate. An
// incomplete report never passes. A requirement whose attack or eps is
// missing from the report fails.
func (r *Report) ApplyRequirements(reqs []Requirement, baseline *Report) error {
	g := &Gate{Passed: true}
	add := func(c GateCheck) {
		g.Checks = append(g.Checks, c)
		g.Passed = g.Passed && c.Passed
	}
	add(GateCheck{ID: "report/complete", Want: "true", Got: strconv.FormatBool(r.Complete), Passed: r.Complete})
	for _, q := range reqs {
		c := GateCheck{ID: q.CheckID("")}
		switch q.Kind {
		case "min_clean_accuracy":
			v := r.Clean.Accuracy
			if q.Use == "lower_ci" {
				v = r.Clean.AccuracyCI95[0]
			}
			c.Want = "≥ " + fmtEps(q.Threshold) + statOf(q.Use)
			c.Got, c.Passed = fmtNum(v), v.Valid() && float64(v) >= q.Threshold
		case "min_accuracy":
			c.Want = "≥ " + fmtEps(q.Threshold) + statOf(q.Use)
			var acc Num
			var ci [2]Num
			if q.WorstCase != "" {
				w, err := r.findWorst(q.WorstCase, q.Eps)
				if err != nil {
					c.Got = err.Error()
					break
				}
				acc, ci = w.Accuracy, w.AccuracyCI95
			} else {
				res, id, err := r.findResult(q.Attack, q.Eps)
				c.ID = q.CheckID(id)
				if err != nil {
					c.Got = err.Error()
					break
				}
				acc, ci = res.Accuracy, res.AccuracyCI95
			}
			if q.Use == "lower_ci" {
				acc = ci[0]
			}
			c.Got, c.Passed = fmtNum(acc), acc.Valid() && float64(acc) >= q.Threshold
		case "min_cosine", "max_kl":
			res, id, err := r.findResult(q.Attack, q.Eps)
			c.ID = q.CheckID(id)
			if q.Kind == "min_cosine" {
				c.Want = "≥ " + fmtEps(q.Threshold) + statOf(q.Use)
			} else {
				c.Want = "≤ " + fmtEps(q.Threshold) + statOf(q.Use)
			}
			if err != nil {
				c.Got = err.Error()
				break
			}
			var v Num
			// An embedding task's cosine is of its outputs, not of logits.
			cos := res.Cosine.Logits
			if res.Cosine.Outputs != nil {
				cos = *res.Cosine.Outputs
			}
			switch q.Use {
			case "mean":
				if q.Kind == "min_cosine" {
					v = cos.Mean
				} else {
					v = res.KL.Mean
				}
			case "p5":
				v = cos.P5
			case "p95":
				v = res.KL.P95
			}
			c.Got = fmtNum(v)
			if res.NAttacked == 0 {
				// The figures cover attacked samples only; say why there are none.
				c.Got = "null: no sample was attacked (none was classified correctly before the attack)"
			}
			if q.Kind == "min_cosine" {
				c.Passed = v.Valid() && float64(v) >= q.Threshold
			} else {
				c.Passed = v.Valid() && float64(v) <= q.Threshold
			}
		case "min_certified_accuracy":
			c.Want = "≥ " + fmtEps(q.Threshold) + statOf(q.Use)
			acc, ci, id, err := r.certifiedAccuracy(q)
			c.ID = q.CheckID(id)
			if err != nil {
				c.Got = err.Error()
				break
			}
			if q.Use == "lower_ci" {
				acc = ci[0]
			}
			c.Got, c.Passed = fmtNum(acc), acc.Valid() && float64(acc) >= q.Threshold
		case "min_corruption_accuracy":
			c.Want = "≥ " + fmtEps(q.Threshold) + statOf(q.Use)
			acc, err := r.corruptionAccuracy(q)
			if err != nil {
				c.Got = err.Error()
				break
			}
			c.Got, c.Passed = fmtNum(acc), acc.Valid() && float64(acc) >= q.Threshold
		case "min_median_min_norm":
			c.Want = "≥ " + fmtEps(q.Threshold)
			s, id, err := r.findMinNorm(q.Attack)
			c.ID = q.CheckID(id)
			switch {
			case err != nil:
				c.Got = err.Error()
			case s.NAttacked == 0:
				c.Got = "null: no sample was attacked (none was classified correctly before the attack)"
			case !s.Median.Valid():
				// Unbroken samples count as infinitely far: a null median
				// means the attack left the median sample unbroken.
				c.Got, c.Passed = "null: the median attacked sample was not broken (its minimal norm is above every radius tried)", true
			default:
				c.Got, c.Passed = fmtNum(s.Median), float64(s.Median) >= q.Threshold
			}
		case "max_flags":
			count := map[string]int{}
			for _, f := range r.Flags {
				count[f.Severity]++
			}
			c.Passed = true
			for _, sev := range []string{"info", "warning", "error"} {
				max, ok := q.Flags[sev]
				if !ok {
					continue
				}
				c.Want += fmt.Sprintf("%s ≤ %d ", sev, max)
				c.Got += fmt.Sprintf("%s %d ", sev, count[sev])
				c.Passed = c.Passed && count[sev] <= max
			}
		case "no_regression":
			c.Want = fmt.Sprintf("not significantly less robust than the baseline (one-sided McNemar p ≥ %g)", q.Threshold)
			if baseline == nil {
				return fmt.Errorf("%w: the policy has a no_regression requirement (line %d); give the earlier report with --baseline", ErrPolicy, q.Line)
			}
			id, p, worse, better, err := regression(r, baseline, q)
			c.ID = q.CheckID(id)
			if err != nil {
				if errors.Is(err, ErrBaseline) {
					return err
				}
				c.Got = err.Error()
				break
			}
			c.Got = fmt.Sprintf("p = %.4g (%d samples newly broken, %d newly robust)", p, worse, better)
			c.Passed = p >= q.Threshold
		}
		add(c)
	}
	r.Gate = g
	return nil
}

// robustAt returns, per sample index, whether the sample is robust under an
// attack (or the worst case of a norm) at eps.
func robustAt(r *Report, q Requirement) (map[int]bool, string, error) {
	s := r.Samples
	if s == nil {
		return nil, "", fmt.Errorf("the report has no per-sample outcomes")
	}
	out := map[int]bool{}
	if q.WorstCase != "" {
		if _, err := r.findWorst(q.WorstCase, q.Eps); err != nil {
			return nil, "", err
		}
		for i, idx := range s.Index {
			out[idx] = s.CleanPred[i] == s.Label[i]
		}
		for _, o := range s.Outcomes {
			if o.Norm != q.WorstCase || o.Eps > q.Eps*(1+1e-9) {
				continue
			}
			for i, idx := range s.Index {
				if o.Pred[i] != s.Label[i] {
					out[idx] = false
				}
			}
		}
		return out, "", nil
	}
	res, id, err := r.findResult(q.Attack, q.Eps)
	if err != nil {
		return nil, id, err
	}
	for _, o := range s.Outcomes {
		if o.AttackID == res.AttackID && epsEqual(o.Eps, res.Eps) {
			for i, idx := range s.Index {
				out[idx] = o.Pred[i] == s.Label[i]
			}
			return out, id, nil
		}
	}
	return nil, id, fmt.Errorf("%s at eps %s has no per-sample outcomes", id, fmtEps(q.Eps))
}

// regression compares per-sample robustness with the baseline on the same
// samples: McNemar's test on the discordant pairs, one-sided towards "the
// new model is worse".
func regression(r, base *Report, q Requirement) (id string, p float64, worse, better int, err error) {
	if r.Dataset.SHA256Decoded != base.Dataset.SHA256Decoded {
		return "", 0, 0, 0, fmt.Errorf("%w: the baseline was run on other data (sha256 %s, this run %s)", ErrBaseline, base.Dataset.SHA256Decoded, r.Dataset.SHA256Decoded)
	}
	if r.Dataset.LabelSource != base.Dataset.LabelSource {
		return "", 0, 0, 0, fmt.Errorf("%w: the baseline used %s labels, this run %s", ErrBaseline, base.Dataset.LabelSource, r.Dataset.LabelSource)
	}
	now, id, err := robustAt(r, q)
	if err != nil {
		return id, 0, 0, 0, err
	}
	before, _, err := robustAt(base, q)
	if err != nil {
		return id, 0, 0, 0, fmt.Errorf("baseline: %v", err)
	}
	paired := 0
	for idx, b := range before {
		n, ok := now[idx]
		if !ok {
			continue
		}
		paired++
		switch {
		case b && !n:
			worse++
		case !b && n:
			better++
		}
	}
	if paired == 0 {
		return id, 0, 0, 0, fmt.Errorf("%w: no sample is in both reports", ErrBaseline)
	}
	return id, metrics.McNemarOneSided(worse, better), worse, better, nil
}

// corruptionAccuracy returns the corruption accuracy a
// min_corruption_accuracy requirement bounds: of one corruption at one
// severity (its point value or the lower end of its 95% interval), pooled
// over the severities of one corruption or the corruptions of one
// severity, or overall.
func (r *Report) corruptionAccuracy(q Requirement) (Num, error) {
	c := r.Corruptions
	if c == nil {
		return 0, fmt.Errorf("the report has no corruption results")
	}
	switch {
	case q.Corruption != "" && q.Severity > 0:
		for _, res := range c.Results {
			if res.Corruption == q.Corruption && res.Severity == q.Severity {
				if q.Use == "lower_ci" {
					return res.AccuracyCI95[0], nil
				}
				return res.Accuracy, nil
			}
		}
		return 0, fmt.Errorf("corruption %s at severity %d is not in the report", q.Corruption, q.Severity)
	case q.Use == "lower_ci":
		return 0, fmt.Errorf("a pooled corruption accuracy has no interval (its results share samples): give corruption and severity for use: lower_ci")
	case q.Corruption != "":
		for _, t := range c.ByCorruption {
			if t.Corruption == q.Corruption {
				return t.Accuracy, nil
			}
		}
		return 0, fmt.Errorf("corruption %s is not in the report", q.Corruption)
	case q.Severity > 0:
		for _, t := range c.BySeverity {
			if t.Severity == q.Severity {
				return t.Accuracy, nil
			}
		}
		return 0, fmt.Errorf("severity %d is not in the report", q.Severity)
	}
	return c.Overall.Accuracy, nil
}

// certifiedAccuracy returns the certified accuracy a
// min_certified_accuracy requirement bounds, with its interval and the
// certify_id it resolved to: of one method (by certify_id, or by method
// name when one method has it) at eps, or with WorstCase the lower end of
// the robust-accuracy interval at that norm and eps (ibp and crown).
func (r *Report) certifiedAccuracy(q Requirement) (Num, [2]Num, string, error) {
	if q.WorstCase != "" {
		w, err := r.findWorst(q.WorstCase, q.Eps)
		if err != nil {
			return 0, [2]Num{}, "", err
		}
		if w.Certified == nil {
			return 0, [2]Num{}, "", fmt.Errorf("the report has no %s certificate of the model (ibp, crown) at eps %s", q.WorstCase, fmtEps(q.Eps))
		}
		return w.Certified.Accuracy, w.Certified.AccuracyCI95, "", nil
	}
	id := q.Certify
	var ids []string
	for _, c := range r.Config.Certify {
		if c.CertifyID == q.Certify {
			ids = []string{c.CertifyID}
			break
		}
		if c.Method == q.Certify {
			ids = append(ids, c.CertifyID)
		}
	}
	switch len(ids) {
	case 0:
		return 0, [2]Num{}, id, fmt.Errorf("certification %s is not in the report", q.Certify)
	case 1:
		id = ids[0]
	default:
		return 0, [2]Num{}, id, fmt.Errorf("certification %s is ambiguous: the report has %v", q.Certify, ids)
	}
	for _, c := range r.Certified {
		if c.CertifyID == id && epsEqual(c.Eps, q.Eps) {
			return c.Accuracy, c.AccuracyCI95, id, nil
		}
	}
	return 0, [2]Num{}, id, fmt.Errorf("%s at eps %s is not in the report", id, fmtEps(q.Eps))
}
