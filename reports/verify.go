package reports

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// MismatchError says that a figure stored in a report is not what the
// report's own per-sample outcomes give. It wraps ErrBadReport.
type MismatchError struct {
	Field      string // JSON path, e.g. results[3] (fgsm at linf eps 0.1).accuracy
	Stored     string // the stored value, as JSON
	Recomputed string // the value the per-sample outcomes give, as JSON
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s is %s but the per-sample outcomes give %s", e.Field, e.Stored, e.Recomputed)
}

// Unwrap makes a mismatch a bad report.
func (e *MismatchError) Unwrap() error { return ErrBadReport }

// Verify checks every figure a report states against what its per-sample
// outcomes give: it validates their layout against the report's
// configuration, runs the reduction a sweep runs on a copy, and compares
// clean, results, worst_case, summary, the derived flags, dataset.samples
// and complete with the stored ones, exactly (numbers as JSON carries them,
// which round-trips float64). The first difference is a *MismatchError.
// The samples themselves, the model, data and provenance descriptions and
// the example images cannot be recomputed from the report and are not
// checked here (signatures cover them). A gate verdict the report holds is
// re-derived from the verified figures (see verifyGate). Verify leaves r
// unchanged.
func (r *Report) Verify() error {
	if err := r.checkLayout(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	re := *r
	re.Flags = append([]Flag(nil), r.Flags...)
	// Reduce reorders samples only when they are out of index order, which
	// checkLayout has refused, so r's samples are shared unchanged.
	if err := re.Reduce(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	if r.Complete {
		lo, hi := r.Config.Shard.Range(r.Dataset.Total)
		if len(r.Samples.Index) != hi-lo {
			return &MismatchError{"complete", "true", fmt.Sprintf("false (%d of the shard's %d samples)", len(r.Samples.Index), hi-lo)}
		}
	}
	for _, f := range []struct {
		name             string
		stored, computed any
	}{
		{"dataset.samples", r.Dataset.Samples, re.Dataset.Samples},
		{"clean", r.Clean, re.Clean},
		{"results", r.Results, re.Results},
		{"worst_case", r.WorstCase, re.WorstCase},
		{"certified", r.Certified, re.Certified},
		{"summary", r.Summary, re.Summary},
		{"corruptions", r.Corruptions, re.Corruptions},
		{"flags", r.Flags, re.Flags},
	} {
		a, err := jsonTree(f.stored)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadReport, f.name, err)
		}
		b, err := jsonTree(f.computed)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadReport, f.name, err)
		}
		if m := firstDiff(f.name, a, b); m != nil {
			return m
		}
	}
	return r.verifyGate()
}

// jsonTree returns v as the generic value its JSON encoding decodes to, so
// stored and recomputed figures compare as the report carries them.
func jsonTree(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var t any
	err = json.Unmarshal(b, &t)
	return t, err
}

// firstDiff returns the first place where stored a and recomputed b differ,
// walking objects in key order and arrays in order, or nil.
func firstDiff(path string, a, b any) *MismatchError {
	show := func(v any) string {
		s, _ := json.Marshal(v)
		return string(s)
	}
	switch bv := b.(type) {
	case map[string]any:
		av, ok := a.(map[string]any)
		if !ok {
			return &MismatchError{path, show(a), show(b)}
		}
		keys := make([]string, 0, len(bv))
		for k := range bv {
			keys = append(keys, k)
		}
		for k := range av {
			if _, ok := bv[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if m := firstDiff(path+"."+k, av[k], bv[k]); m != nil {
				return m
			}
		}
		return nil
	case []any:
		av, ok := a.([]any)
		if !ok {
			return &MismatchError{path, show(a), show(b)}
		}
		if len(av) != len(bv) {
			return &MismatchError{path, fmt.Sprintf("%d entries", len(av)), fmt.Sprintf("%d entries", len(bv))}
		}
		for i := range bv {
			if m := firstDiff(path+"["+strconv.Itoa(i)+"]"+rowName(bv[i]), av[i], bv[i]); m != nil {
				return m
			}
		}
		return nil
	}
	if a != b {
		return &MismatchError{path, show(a), show(b)}
	}
	return nil
}

// rowName names a result or worst-case row in a path, e.g. " (fgsm at linf eps 0.1)".
func rowName(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	norm, _ := m["norm"].(string)
	eps, ok := m["eps"].(float64)
	if !ok || norm == "" {
		return ""
	}
	if id, ok := m["attack_id"].(string); ok {
		return " (" + outcomeKey{id, norm, eps}.String() + ")"
	}
	return " (worst case at " + norm + " eps " + fmtEps(eps) + ")"
}

// verifyGate re-derives a gate verdict stored in a report (by `advcheck
// gate`). The policy is not in the report, but each check states its
// requirement: its id names the kind, attack or norm and eps, its want the
// bound and statistic. Each is applied again to the report's verified
// figures and must give the stored got and passed, and passed must be the
// conjunction of the checks, the first of which is report/complete. A
// no_regression check compares with a baseline the report does not hold:
// only its passed is re-derived, from the p-value it states.
func (r *Report) verifyGate() error {
	g := r.Gate
	if g == nil {
		return nil
	}
	if len(g.Checks) == 0 || g.Checks[0].ID != "report/complete" {
		return fmt.Errorf("%w: gate.checks does not start with report/complete", ErrBadReport)
	}
	all := true
	for i, c := range g.Checks {
		all = all && c.Passed
		field := fmt.Sprintf("gate.checks[%d] (%s)", i, c.ID)
		var want GateCheck
		switch {
		case c.ID == "report/complete":
			want = GateCheck{ID: c.ID, Want: "true", Got: strconv.FormatBool(r.Complete), Passed: r.Complete}
		case strings.HasSuffix(c.ID, "/no_regression"):
			var alpha, p float64
			if _, err := fmt.Sscanf(c.Want, "not significantly less robust than the baseline (one-sided McNemar p ≥ %g)", &alpha); err != nil {
				return fmt.Errorf("%w: %s.want %q is not a no_regression requirement", ErrBadReport, field, c.Want)
			}
			if _, err := fmt.Sscanf(c.Got, "p = %g", &p); err != nil {
				want = GateCheck{ID: c.ID, Want: c.Want, Got: c.Got, Passed: false} // the comparison could not be made
			} else {
				want = GateCheck{ID: c.ID, Want: c.Want, Got: c.Got, Passed: p >= alpha}
			}
		default:
			q, err := requirementOf(c)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrBadReport, field, err)
			}
			again := *r
			if err := again.ApplyRequirements([]Requirement{q}, nil); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrBadReport, field, err)
			}
			want = again.Gate.Checks[1]
		}
		switch {
		case want.ID != c.ID || want.Want != c.Want:
			return fmt.Errorf("%w: %s: want %q is not a requirement advcheck writes", ErrBadReport, field, c.Want)
		case want.Got != c.Got:
			return &MismatchError{field + ".got", strconv.Quote(c.Got), strconv.Quote(want.Got)}
		case want.Passed != c.Passed:
			return &MismatchError{field + ".passed", strconv.FormatBool(c.Passed), strconv.FormatBool(want.Passed)}
		}
	}
	if g.Passed != all {
		return &MismatchError{"gate.passed", strconv.FormatBool(g.Passed), strconv.FormatBool(all)}
	}
	return nil
}

// requirementOf rebuilds the requirement a gate check was written from
// (see Requirement.CheckID, statOf and ApplyRequirements).
func requirementOf(c GateCheck) (Requirement, error) {
	slash := strings.LastIndex(c.ID, "/")
	if slash < 0 {
		return Requirement{}, fmt.Errorf("id %q is not a requirement advcheck writes", c.ID)
	}
	q := Requirement{Kind: c.ID[slash+1:]}
	head := c.ID[:slash]
	switch {
	case head == "clean" && q.Kind == "min_accuracy":
		q.Kind = "min_clean_accuracy"
	case head == "flags" && q.Kind == "max_flags":
		q.Flags = map[string]int{}
		f := strings.Fields(c.Want)
		if len(f)%3 != 0 {
			return q, fmt.Errorf("want %q is not a max_flags requirement", c.Want)
		}
		for k := 0; k < len(f); k += 3 {
			n, err := strconv.Atoi(f[k+2])
			if err != nil || f[k+1] != "≤" {
				return q, fmt.Errorf("want %q is not a max_flags requirement", c.Want)
			}
			q.Flags[f[k]] = n
		}
		return q, nil
	case strings.HasPrefix(head, "corruptions/") && q.Kind == "min_corruption_accuracy":
		parts := strings.Split(head, "/")
		if len(parts) != 3 || parts[1] == "" {
			return q, fmt.Errorf("id %q is not a requirement advcheck writes", c.ID)
		}
		if parts[1] != "all" {
			q.Corruption = parts[1]
		}
		if parts[2] != "all" {
			s, err := strconv.Atoi(parts[2])
			if err != nil || s < MinSeverity || s > MaxSeverity || strconv.Itoa(s) != parts[2] {
				return q, fmt.Errorf("id %q is not a requirement advcheck writes", c.ID)
			}
			q.Severity = s
		}
	case strings.HasPrefix(head, "certified/") && q.Kind == "min_certified_accuracy":
		e := strings.LastIndex(head, "/")
		eps, err := strconv.ParseFloat(head[e+1:], 64)
		if err != nil || e <= len("certified/") {
			return q, fmt.Errorf("id %q is not a requirement advcheck writes", c.ID)
		}
		q.Eps, q.HasEps, q.Certify = eps, true, head[len("certified/"):e]
	case strings.HasPrefix(head, "min_norm/") && q.Kind == "min_median_min_norm":
		q.Attack = strings.TrimPrefix(head, "min_norm/")
	case strings.HasPrefix(head, "worst_case/") || strings.HasPrefix(head, "attack/"):
		e := strings.LastIndex(head, "/")
		eps, err := strconv.ParseFloat(head[e+1:], 64)
		if err != nil || e <= strings.Index(head, "/") {
			return q, fmt.Errorf("id %q is not a requirement advcheck writes", c.ID)
		}
		q.Eps, q.HasEps = eps, true
		name := head[strings.Index(head, "/")+1 : e]
		if strings.HasPrefix(head, "worst_case/") {
			q.WorstCase = name
		} else {
			q.Attack = name
		}
	default:
		return q, fmt.Errorf("id %q is not a requirement advcheck writes", c.ID)
	}
	want, use := c.Want, ""
	if open := strings.Index(want, " ("); open >= 0 && strings.HasSuffix(want, ")") {
		want, use = want[:open], want[open+2:len(want)-1]
		if use == "lower 95% bound" {
			use = "lower_ci"
		}
	}
	bound, ok := strings.CutPrefix(want, "≥ ")
	if !ok {
		bound, ok = strings.CutPrefix(want, "≤ ")
	}
	t, err := strconv.ParseFloat(bound, 64)
	if !ok || err != nil {
		return q, fmt.Errorf("want %q is not a bound advcheck writes", c.Want)
	}
	uses := map[string][]string{"min_accuracy": {"", "lower_ci"}, "min_clean_accuracy": {"", "lower_ci"}, "min_cosine": {"mean", "p5"}, "max_kl": {"mean", "p95"}, "min_median_min_norm": {""}, "min_corruption_accuracy": {"", "lower_ci"}, "min_certified_accuracy": {"", "lower_ci"}}[q.Kind]
	if !slices.Contains(uses, use) {
		return q, fmt.Errorf("want %q is not a requirement advcheck writes", c.Want)
	}
	q.Threshold, q.Use = t, use
	return q, nil
}
