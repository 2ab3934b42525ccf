package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/reports"
)

// smallReport is a report advcheck wrote (see its run.command): zoo:mnist-cnn
// on 24 samples, fgsm and pgd:steps=3 at linf 0, 0.1, 0.2 and
// pgd:norm=l2,steps=3 at l2 0, 1. fgsm at 0.1 leaves 21 of 24 correct.
const smallReport = "../../testdata/reports/sweep-small.json"

// smallSweep repeats the command that wrote smallReport.
var smallSweep = []string{"sweep", "--limit", "24", "--batch", "8", "--attack", "fgsm,pgd:steps=3", "--attack", "pgd:norm=l2,steps=3",
	"--eps", "linf=0,0.1,0.2 l2=0,1", "--seed", "3", "--examples", "2", "-q", "--progress", "never"}

// sweepSmallPolicy matches smallReport and asks more of fgsm at 0.1 than it did
// (0.875), so the untouched report fails the gate.
const sweepSmallPolicy = `apiVersion: advcheck/policy/v1
model:
  path: zoo:mnist-cnn
data:
  spec: mnist-sample
  limit: 24
seed: 3
batch: 8
attacks:
  - fgsm
  - name: pgd
    params: {steps: 3}
  - name: pgd
    params: {norm: l2, steps: 3}
eps:
  linf: [0, 0.1, 0.2]
  l2: [0, 1]
requirements:
  - min_accuracy: 0.9
    attack: fgsm
    eps: 0.1
`

// tamperJSON writes a copy of the report at src with f applied to its JSON.
func tamperJSON(t *testing.T, src, dst string, f func(v map[string]any)) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(mustRead(t, src)), &v); err != nil {
		t.Fatal(err)
	}
	f(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsonAt(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func jsonObj(v any, keys ...any) map[string]any { return jsonAt(v, keys...).(map[string]any) }
func jsonArr(v any, keys ...any) []any          { return jsonAt(v, keys...).([]any) }

// oneLine asserts an exit status and a single stderr line saying say.
func oneLine(t *testing.T, what string, code int, errs string, wantCode int, say string) {
	t.Helper()
	if code != wantCode || !strings.Contains(errs, say) || strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
		t.Errorf("%s: exit %d, stderr %q; want exit %d, one line saying %q", what, code, errs, wantCode, say)
	}
}

// Edited figures and outcome layouts are refused by every command that reads
// a report, naming the first mismatch; nothing a report states is trusted.
func TestTamperedReports(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "p.yaml")
	os.WriteFile(policy, []byte(sweepSmallPolicy), 0o644)
	// The untouched report fails the policy (0.875 < 0.9) and renders.
	code, _, errs := advcheck(t, "gate", "--policy", policy, "--report", smallReport, "-q")
	oneLine(t, "gate on the untouched report", code, errs, 1, "attack/fgsm/0.1/min_accuracy")
	if code, _, errs := advcheck(t, "report", smallReport, "-q"); code != 0 {
		t.Fatalf("report: exit %d %s", code, errs)
	}
	outcomes := func(v map[string]any) []any { return jsonArr(v, "samples", "outcomes") }
	for _, c := range []struct {
		name string
		f    func(v map[string]any)
		say  string
	}{
		{"accuracy raised", func(v map[string]any) { jsonObj(v, "results", 1)["accuracy"] = 1.0 },
			"results[1] (fgsm at linf eps 0.1).accuracy is 1 but the per-sample outcomes give 0.875"},
		{"cosine raised", func(v map[string]any) { jsonObj(v, "results", 2, "cosine", "logits")["mean"] = 0.99 },
			"results[2] (fgsm at linf eps 0.2).cosine.logits.mean is 0.99 but"},
		{"worst case raised", func(v map[string]any) { jsonObj(v, "worst_case", 2)["accuracy"] = 0.9 },
			"worst_case[2] (worst case at linf eps 0.2).accuracy is 0.9 but the per-sample outcomes give"},
		{"auc raised", func(v map[string]any) { jsonObj(v, "summary", "auc", 0)["value"] = 0.99 },
			"summary.auc[0].value is 0.99 but"},
		{"outcome set removed", func(v map[string]any) {
			jsonObj(v, "samples")["outcomes"] = append(outcomes(v)[:2:2], outcomes(v)[3:]...)
		},
			"samples.outcomes holds 7 outcome sets; the configuration (3 attacks × their radii) gives 8"},
		{"outcome set added", func(v map[string]any) { jsonObj(v, "samples")["outcomes"] = append(outcomes(v), outcomes(v)[5]) },
			"samples.outcomes holds 9 outcome sets"},
		{"outcome sets reordered", func(v map[string]any) { o := outcomes(v); o[2], o[5] = o[5], o[2] },
			"samples.outcomes[2] is pgd:steps=3 at linf eps 0.2; the configuration puts fgsm at linf eps 0.2 there"},
		{"outcome set duplicated", func(v map[string]any) { outcomes(v)[5] = outcomes(v)[2] },
			"samples.outcomes[5] is fgsm at linf eps 0.2; the configuration puts pgd:steps=3 at linf eps 0.2 there"},
		{"eps changed", func(v map[string]any) { jsonObj(v, "samples", "outcomes", 2)["eps"] = 0.3 },
			"samples.outcomes[2] is fgsm at linf eps 0.3"},
		{"shard n 1e8, samples 1e9", func(v map[string]any) {
			jsonObj(v, "config", "shard")["n"] = 1e8
			jsonObj(v, "dataset")["samples"] = 1e9
		}, "samples.index[0] = 0 is outside shard 0/100000000"},
		{"samples 1e9", func(v map[string]any) { jsonObj(v, "dataset")["samples"] = 1e9 },
			"dataset.samples is 1000000000 but the per-sample outcomes give 24"},
	} {
		bad := filepath.Join(dir, "bad.json")
		tamperJSON(t, smallReport, bad, c.f)
		code, _, errs := advcheck(t, "gate", "--policy", policy, "--report", bad, "-q")
		oneLine(t, c.name+": gate --report", code, errs, 3, c.say)
		code, _, errs = advcheck(t, "gate", "--policy", policy, "--report", smallReport, "--baseline", bad, "-q")
		oneLine(t, c.name+": gate --baseline", code, errs, 3, c.say)
		code, _, errs = advcheck(t, "report", bad, "-q")
		oneLine(t, c.name+": report", code, errs, 3, c.say)
		code, _, errs = advcheck(t, "merge", bad, "--json", filepath.Join(dir, "m.json"), "-q")
		oneLine(t, c.name+": merge", code, errs, 3, c.say)
	}
	trunc := filepath.Join(dir, "trunc.json")
	b := mustRead(t, smallReport)
	os.WriteFile(trunc, []byte(b[:len(b)/2]), 0o644)
	for _, args := range [][]string{{"report", trunc}, {"merge", trunc, "--json", filepath.Join(dir, "m.json")}, {"gate", "--policy", policy, "--report", trunc}} {
		code, _, errs := advcheck(t, args...)
		oneLine(t, "truncated: "+args[0], code, errs, 3, "not JSON")
	}
}

// truncateSamples keeps the first k samples of every per-sample array.
func truncateSamples(s *reports.Samples, k int) {
	s.Index, s.Label, s.CleanPred = s.Index[:k], s.Label[:k], s.CleanPred[:k]
	for i := range s.Outcomes {
		o := &s.Outcomes[i]
		o.Pred, o.Queries = o.Pred[:k], o.Queries[:k]
		if o.Target != nil {
			o.Target = o.Target[:k]
		}
		o.CosLogits, o.CosProbs, o.KL, o.Linf, o.L2 = o.CosLogits[:k], o.CosProbs[:k], o.KL[:k], o.Linf[:k], o.L2[:k]
	}
	if c := s.Checks; c != nil {
		c.Deterministic, c.ProbLike, c.GradStatus, c.Unbounded = c.Deterministic[:k], c.ProbLike[:k], c.GradStatus[:k], c.Unbounded[:k]
		for i := range c.Converge {
			c.Converge[i].Broken = c.Converge[i].Broken[:k]
		}
	}
	for i := range s.Refined {
		s.Refined[i].Values = s.Refined[i].Values[:k]
	}
}

// --resume refuses a partial report whose outcome sets or checks do not fit
// the run, before running anything; before, a missing set resumed to a
// complete report without it, an extra one panicked, and a partial without
// checks gave a complete report with no results.
func TestResumeTamperedPartial(t *testing.T) {
	dir := t.TempDir()
	var full reports.Report
	if err := json.Unmarshal([]byte(mustRead(t, smallReport)), &full); err != nil {
		t.Fatal(err)
	}
	partial := func(name string, f func(r *reports.Report)) string {
		var r reports.Report
		json.Unmarshal([]byte(mustRead(t, smallReport)), &r)
		truncateSamples(r.Samples, 8)
		r.Complete = false
		f(&r)
		if err := r.Reduce(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".json")
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	out := filepath.Join(dir, "out.json")
	for _, c := range []struct {
		name string
		f    func(r *reports.Report)
		say  string
	}{
		{"checks null", func(r *reports.Report) { r.Samples.Checks = nil }, "hold no reliability checks"},
		{"outcome set removed", func(r *reports.Report) {
			r.Samples.Outcomes = append(r.Samples.Outcomes[:2:2], r.Samples.Outcomes[3:]...)
		}, "samples.outcomes holds 7 outcome sets"},
		{"outcome set added", func(r *reports.Report) { r.Samples.Outcomes = append(r.Samples.Outcomes, r.Samples.Outcomes[5]) },
			"samples.outcomes holds 9 outcome sets"},
		{"outcome sets reordered", func(r *reports.Report) {
			o := r.Samples.Outcomes
			o[2], o[5] = o[5], o[2]
		}, "samples.outcomes[2] is pgd:steps=3 at linf eps 0.2"},
		{"outcome set removed from the config too", func(r *reports.Report) {
			r.Samples.Outcomes = append(r.Samples.Outcomes[:2:2], r.Samples.Outcomes[3:]...)
			r.Config.Eps = append(r.Config.Eps[:4:4], r.Config.Eps[5:]...) // l2 0, l2 1, linf 0, linf 0.1
			r.Samples.Outcomes = append(r.Samples.Outcomes[:4:4], r.Samples.Outcomes[5:]...)
			r.Samples.Checks.Converge = nil
		}, "--resume: the report is of another evaluation: configurations differ"},
	} {
		p := partial(strings.ReplaceAll(c.name, " ", "-"), c.f)
		os.Remove(out)
		code, _, errs := advcheck(t, append(smallSweep, "--json", out, "--resume", p)...)
		oneLine(t, c.name, code, errs, 3, c.say)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: a report was written", c.name)
		}
	}
	// The untouched partial resumes to a complete report of all 24 samples.
	p := partial("untouched", func(*reports.Report) {})
	if code, _, errs := advcheck(t, append(smallSweep, "--json", out, "--resume", p)...); code != 0 {
		t.Fatalf("resume of the untouched partial: exit %d %s", code, errs)
	}
	r, err := reports.ReadFile(out, 0)
	if err != nil || !r.Complete || r.Clean.N != 24 || len(r.Results) != 8 {
		t.Errorf("resumed report: %v", err)
	}
}
