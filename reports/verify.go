package reports

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
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
// checked here (signatures cover them); a gate block is not checked either:
// commands that gate recompute it, and Verify leaves r unchanged.
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
		{"summary", r.Summary, re.Summary},
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
	return nil
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
