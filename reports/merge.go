package reports

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Compatible reports whether b is a part of the same evaluation as a: same
// schema, model, data, labels and configuration (the shard aside).
func Compatible(a, b *Report) error {
	switch {
	case a.Schema != b.Schema:
		return fmt.Errorf("schemas differ: %q and %q", a.Schema, b.Schema)
	case a.Model.SHA256 != b.Model.SHA256:
		return fmt.Errorf("models differ: sha256 %s and %s", a.Model.SHA256, b.Model.SHA256)
	case a.Dataset.SHA256Decoded != b.Dataset.SHA256Decoded:
		return fmt.Errorf("data sets differ: sha256 %s and %s", a.Dataset.SHA256Decoded, b.Dataset.SHA256Decoded)
	case a.Dataset.LabelSource != b.Dataset.LabelSource:
		return fmt.Errorf("label sources differ: %s and %s", a.Dataset.LabelSource, b.Dataset.LabelSource)
	}
	ca, cb := a.Config, b.Config
	ca.Shard, cb.Shard = Shard{}, Shard{}
	ja, _ := json.Marshal(ca)
	jb, _ := json.Marshal(cb)
	if string(ja) != string(jb) {
		return fmt.Errorf("configurations differ: %s and %s", ja, jb)
	}
	ia, _ := json.Marshal(a.Model.InputContract)
	ib, _ := json.Marshal(b.Model.InputContract)
	if string(ia) != string(ib) {
		return fmt.Errorf("input contracts differ: %s and %s", ia, ib)
	}
	return nil
}

// Merge combines the reports of the shards of one evaluation into the report
// of the whole data set; it equals an unsharded run's report outside Run.
// Every shard 0/N … N−1/N must be present exactly once.
func Merge(parts []*Report) (*Report, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	first := parts[0]
	total := first.Config.Shard.N
	seen := map[int]bool{}
	for _, p := range parts {
		if p.Samples == nil {
			return nil, fmt.Errorf("a part has no per-sample outcomes")
		}
		if err := Compatible(first, p); err != nil {
			return nil, fmt.Errorf("shard %d/%d: %w", p.Config.Shard.I, p.Config.Shard.N, err)
		}
		if p.Config.Shard.N != total {
			return nil, fmt.Errorf("parts split the data %d and %d ways", total, p.Config.Shard.N)
		}
		if p.Dataset.Total != first.Dataset.Total {
			return nil, fmt.Errorf("parts are of %d and %d samples", first.Dataset.Total, p.Dataset.Total)
		}
		if err := p.checkLayout(); err != nil {
			return nil, fmt.Errorf("shard %d/%d: %w", p.Config.Shard.I, total, err)
		}
		if seen[p.Config.Shard.I] {
			return nil, fmt.Errorf("shard %d/%d is given twice", p.Config.Shard.I, total)
		}
		seen[p.Config.Shard.I] = true
	}
	if total > len(parts) {
		// The shard count is a claim of the file: name a few missing
		// shards, in time and memory bounded by the parts given.
		var missing []string
		for i := 0; i < total && len(missing) < 10; i++ {
			if !seen[i] {
				missing = append(missing, fmt.Sprintf("%d/%d", i, total))
			}
		}
		return nil, fmt.Errorf("shards missing: %v (%d of %d)", missing, total-len(parts), total)
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].Config.Shard.I < parts[j].Config.Shard.I })
	out := *first
	out.Config.Shard = Shard{0, 1}
	out.Gate = nil
	out.Complete = true
	s := &Samples{}
	var examples [][]Example
	var corrupted [][]CorruptionExample
	want := 0
	for _, p := range parts {
		out.Complete = out.Complete && p.Complete
		if s.Outcomes == nil {
			for _, o := range p.Samples.Outcomes {
				s.Outcomes = append(s.Outcomes, Outcomes{AttackID: o.AttackID, Norm: o.Norm, Eps: o.Eps})
			}
			for _, mn := range p.Samples.MinNorms {
				s.MinNorms = append(s.MinNorms, MinNorms{AttackID: mn.AttackID, Norm: mn.Norm})
			}
			for _, o := range p.Samples.Corrupted {
				s.Corrupted = append(s.Corrupted, CorruptedOutcomes{Corruption: o.Corruption, Severity: o.Severity})
			}
			for _, c := range p.Samples.Certified {
				s.Certified = append(s.Certified, Certificates{CertifyID: c.CertifyID, Norm: c.Norm, Eps: c.Eps})
			}
		}
		if err := s.append(p.Samples); err != nil {
			return nil, fmt.Errorf("shard %d/%d: %w", p.Config.Shard.I, total, err)
		}
		examples = append(examples, p.Examples)
		corrupted = append(corrupted, p.CorruptionExamples)
		want = max(want, countExamples(p.Examples))
	}
	out.Samples = s
	out.Examples = mergeExamples(examples, want)
	out.CorruptionExamples = mergeCorruptionExamples(corrupted)
	out.Flags = nil
	for _, p := range parts {
		for _, f := range p.Flags {
			if f.ID != "null_metric" {
				out.Flags = append(out.Flags, f)
			}
		}
	}
	out.Flags = dedupeFlags(out.Flags)
	if err := out.Reduce(); err != nil {
		return nil, err
	}
	if len(out.Samples.Index) != out.Dataset.Total {
		out.Complete = false
	}
	return &out, nil
}

func countExamples(ex []Example) int {
	c := map[bool]int{}
	for _, e := range ex {
		c[e.Broken]++
	}
	return max(c[true], c[false])
}

func dedupeFlags(fs []Flag) []Flag {
	seen := map[string]bool{}
	var out []Flag
	for _, f := range fs {
		k := f.ID + "\x00" + f.Message
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}
