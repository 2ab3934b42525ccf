package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/advcheck/advcheck/models"
)

// fixtureReport runs the fixture sweep (11 outcome sets: fgsm, pgd and
// square at linf 0, 0.02, 0.05, pgd at l2 0, 0.5) into a report.
func fixtureReport(t *testing.T) *Report {
	t.Helper()
	m, src := fixture(t, 23)
	r, err := newReport(t, plan(t, m, src, specs...), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Model.Outputs = []TensorInfo{{Name: "logits", Shape: []int{-1, 10}}}
	return r
}

// edit returns b with the JSON value at path (object keys and array
// indices) changed by f, which gets the parent and the key.
func edit(t *testing.T, b []byte, f func(v map[string]any)) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	f(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// at walks a decoded JSON value along keys (strings for objects, ints for arrays).
func at(v any, keys ...any) any {
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

func obj(v any, keys ...any) map[string]any { return at(v, keys...).(map[string]any) }
func arr(v any, keys ...any) []any          { return at(v, keys...).([]any) }

// Every figure is checked against the per-sample outcomes, and every layout
// other than the configuration's is refused, naming the first difference.
func TestDecodeRefusesTamperedReports(t *testing.T) {
	full := encode(t, fixtureReport(t))
	if _, err := Decode(edit(t, full, func(map[string]any) {})); err != nil {
		t.Fatalf("the untampered report (through generic JSON): %v", err)
	}
	outcomes := func(v map[string]any) []any { return arr(v, "samples", "outcomes") }
	for _, c := range []struct {
		name string
		f    func(v map[string]any)
		say  string
	}{
		{"accuracy raised", func(v map[string]any) { obj(v, "results", 1)["accuracy"] = 1.0 },
			"results[1] (fgsm at linf eps 0.02).accuracy is 1 but the per-sample outcomes give 0"},
		{"n_correct raised", func(v map[string]any) {
			obj(v, "results", 1)["n_correct"] = at(v, "results", 1, "n_correct").(float64) + 1
		},
			"results[1] (fgsm at linf eps 0.02).n_correct is"},
		{"accuracy interval", func(v map[string]any) { arr(v, "results", 4, "accuracy_ci95")[0] = 0.99 },
			"results[4] (pgd:steps=3 at linf eps 0.02).accuracy_ci95[0] is 0.99"},
		{"cosine mean", func(v map[string]any) { obj(v, "results", 2, "cosine", "logits")["mean"] = 0.999 },
			"results[2] (fgsm at linf eps 0.05).cosine.logits.mean is 0.999"},
		{"kl p95", func(v map[string]any) { obj(v, "results", 2, "kl")["p95"] = 0.0 },
			"results[2] (fgsm at linf eps 0.05).kl.p95 is 0"},
		{"l1 mean", func(v map[string]any) { obj(v, "results", 2, "perturbation")["l1_mean"] = 0.5 },
			"results[2] (fgsm at linf eps 0.05).perturbation.l1_mean is 0.5 but the per-sample outcomes give"},
		{"l1 mean removed", func(v map[string]any) { delete(obj(v, "results", 2, "perturbation"), "l1_mean") },
			"results[2] (fgsm at linf eps 0.05).perturbation.l1_mean is null but the per-sample outcomes give"},
		{"l1 norm raised", func(v map[string]any) { arr(v, "samples", "outcomes", 2, "l1")[1] = 1000.0 },
			"results[2] (fgsm at linf eps 0.05).perturbation.l1_mean is"},
		{"l1 norms short", func(v map[string]any) {
			o := obj(v, "samples", "outcomes", 2)
			o["l1"] = arr(o, "l1")[1:]
		}, "outcomes of fgsm at eps 0.05 do not cover the 23 samples"},
		{"attack success", func(v map[string]any) { obj(v, "results", 2)["attack_success_rate"] = nil },
			"results[2] (fgsm at linf eps 0.05).attack_success_rate is null"},
		{"worst case", func(v map[string]any) { obj(v, "worst_case", 2)["n_robust"] = 17.0 },
			"worst_case[2] (worst case at linf eps 0.05).n_robust is 17"},
		{"auc", func(v map[string]any) { obj(v, "summary", "auc", 0)["value"] = 1.0 },
			"summary.auc[0].value is 1"},
		{"minimal eps", func(v map[string]any) { obj(v, "summary", "minimal_eps", 0)["samples_unbroken"] = 5.0 },
			"summary.minimal_eps[0].samples_unbroken is 5"},
		{"clean accuracy", func(v map[string]any) { obj(v, "clean")["accuracy"] = 1.0 },
			"clean.accuracy is 1"},
		{"sample count", func(v map[string]any) { obj(v, "dataset")["samples"] = 9.0 },
			"dataset.samples is 9 but the per-sample outcomes give 23"},
		{"derived flag added", func(v map[string]any) {
			v["flags"] = append(v["flags"].([]any), map[string]any{"id": FlagRandomizedModel, "severity": "error", "message": "x"})
		}, "flags is"},
		{"result row dropped", func(v map[string]any) { v["results"] = arr(v, "results")[1:] },
			"results is 10 entries but the per-sample outcomes give 11 entries"},
		{"outcome set removed", func(v map[string]any) { obj(v, "samples")["outcomes"] = append(outcomes(v)[:3:3], outcomes(v)[4:]...) },
			"samples.outcomes holds 10 outcome sets; the configuration (4 attacks × their radii) gives 11"},
		{"outcome set added", func(v map[string]any) { obj(v, "samples")["outcomes"] = append(outcomes(v), outcomes(v)[0]) },
			"samples.outcomes holds 12 outcome sets"},
		{"outcome sets reordered", func(v map[string]any) { o := outcomes(v); o[1], o[2] = o[2], o[1] },
			"samples.outcomes[1] is fgsm at linf eps 0.05; the configuration puts fgsm at linf eps 0.02 there"},
		{"outcome set duplicated", func(v map[string]any) { outcomes(v)[1] = outcomes(v)[0] },
			"samples.outcomes[1] is fgsm at linf eps 0; the configuration puts fgsm at linf eps 0.02 there"},
		{"outcome eps changed", func(v map[string]any) { obj(v, "samples", "outcomes", 1)["eps"] = 0.03 },
			"samples.outcomes[1] is fgsm at linf eps 0.03"},
		{"config eps changed", func(v map[string]any) { obj(v, "config", "eps", 3)["value"] = 0.03 },
			"the configuration puts fgsm at linf eps 0.03 there"},
		{"config eps repeated", func(v map[string]any) { obj(v, "config", "eps", 3)["value"] = 0.0 },
			"linf eps 0 is listed twice"},
		{"attack repeated", func(v map[string]any) { obj(v, "config", "attacks", 1)["attack_id"] = "fgsm" },
			"attack fgsm is listed twice"},
		{"index outside the data", func(v map[string]any) { arr(v, "samples", "index")[22] = 23.0 },
			"samples.index[22] = 23 is outside shard 0/1, samples [0, 23)"},
		{"index repeated", func(v map[string]any) { arr(v, "samples", "index")[1] = 0.0 },
			"index 0 appears twice"},
		{"indices out of order", func(v map[string]any) { ix := arr(v, "samples", "index"); ix[0], ix[1] = ix[1], ix[0] },
			"samples.index[1] = 0 does not follow 1"},
		{"label outside the classes", func(v map[string]any) { arr(v, "samples", "label")[0] = 10.0 },
			"samples.label[0] = 10 is not a class of the model's 10"},
		{"prediction array short", func(v map[string]any) {
			o := obj(v, "samples", "outcomes", 4)
			o["pred"] = arr(o, "pred")[1:]
		}, "outcomes of pgd:steps=3 at eps 0.02 do not cover the 23 samples"},
		{"check value", func(v map[string]any) { arr(v, "samples", "checks", "grad_status")[0] = 7.0 },
			"samples.checks.grad_status[0] = 7"},
		{"checks short", func(v map[string]any) { c := obj(v, "samples", "checks"); c["unbounded"] = arr(c, "unbounded")[2:] },
			"checks do not cover the 23 samples"},
		{"shard n 1e8", func(v map[string]any) { obj(v, "config", "shard")["n"] = 1e8 },
			"samples.index[0] = 0 is outside shard 0/100000000, samples [0, 0)"},
		{"total 1e12", func(v map[string]any) { obj(v, "dataset")["total"] = 1e12 },
			"dataset.total 1000000000000 is out of range"},
		{"shard i = n", func(v map[string]any) { obj(v, "config", "shard")["i"] = 1.0 },
			"config.shard 1/1"},
		{"no samples", func(v map[string]any) { v["samples"] = nil },
			"no per-sample outcomes"},
	} {
		_, err := Decode(edit(t, full, c.f))
		if !errors.Is(err, ErrBadReport) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: got %v, want a bad report saying %q", c.name, err, c.say)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		say  string
	}{
		{"truncated", full[:len(full)/2], "not JSON"},
		{"sample count as 1e9", bytes.Replace(full, []byte(`"samples": 23,`), []byte(`"samples": 1e9,`), 1), "cannot unmarshal number 1e9"},
	} {
		if _, err := Decode(c.b); !errors.Is(err, ErrBadReport) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: got %v, want a bad report saying %q", c.name, err, c.say)
		}
	}
}

// A partial report may not claim to be complete, and the reports in
// testdata (written by advcheck) verify.
func TestDecodeCompleteAndGoldens(t *testing.T) {
	m, src := fixture(t, 23)
	ctx, cancel := context.WithCancel(context.Background())
	p := plan(t, m, src, specs...)
	p.Progress = &cancelAfter{k: 2, cancel: cancel}
	partial, _ := newReport(t, p, ctx, nil)
	b := encode(t, partial)
	if _, err := Decode(b); err != nil {
		t.Fatalf("partial report: %v", err)
	}
	_, err := Decode(edit(t, b, func(v map[string]any) { v["complete"] = true }))
	if !errors.Is(err, ErrBadReport) || !strings.Contains(err.Error(), "complete is true but the per-sample outcomes give false (14 of the shard's 23 samples)") {
		t.Errorf("partial claiming complete: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(testdata, "reports", "*.json"))
	if len(files) == 0 {
		t.Fatal("no reports in testdata")
	}
	for _, f := range files {
		if _, err := ReadFile(f, 0); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// Resuming pairs outcome sets with the plan by (attack_id, norm, eps) and
// refuses partial reports of another layout before running anything.
func TestResumeRefusesOtherLayouts(t *testing.T) {
	m, src := fixture(t, 23)
	ctx, cancel := context.WithCancel(context.Background())
	p := plan(t, m, src, specs...)
	p.Progress = &cancelAfter{k: 2, cancel: cancel}
	partial, _ := newReport(t, p, ctx, nil)
	base := Report{Dataset: Dataset{Total: src.Len(), LabelSource: "truth"}}
	if r, err := Evaluate(context.Background(), plan(t, m, src, specs...), base, cloneReport(t, partial), time.Now()); err != nil || !r.Complete {
		t.Fatalf("resuming the untouched partial report: %v", err)
	}
	for _, c := range []struct {
		name string
		f    func(r *Report)
		say  string
	}{
		{"checks null", func(r *Report) { r.Samples.Checks = nil }, "hold no reliability checks"},
		{"checks where none are run", func(r *Report) {}, "hold reliability checks where none are expected"},
		{"outcome sets reordered", func(r *Report) {
			o := r.Samples.Outcomes
			o[1], o[2] = o[2], o[1]
		}, "outcome set 1 is fgsm at linf eps 0.05 where fgsm at linf eps 0.02 is expected"},
		{"outcome set removed", func(r *Report) { r.Samples.Outcomes = r.Samples.Outcomes[1:] }, "10 outcome sets where 11 are expected"},
		{"outcome set added", func(r *Report) { r.Samples.Outcomes = append(r.Samples.Outcomes, r.Samples.Outcomes[0]) }, "12 outcome sets where 11 are expected"},
		{"refined where none are", func(r *Report) {
			r.Samples.Refined = []RefinedMinEps{{Norm: "linf", Steps: 2, Values: make([]F32, len(r.Samples.Index))}}
		}, "refined for 1 norms where 0 are expected"},
		{"another shard", func(r *Report) { r.Config.Shard = Shard{1, 2} }, "covers shard 1/2"},
	} {
		resume := cloneReport(t, partial)
		c.f(resume)
		p := plan(t, m, src, specs...)
		p.Checks = c.name != "checks where none are run"
		r, err := Evaluate(context.Background(), p, base, resume, time.Now())
		if !errors.Is(err, ErrBadReport) || !strings.Contains(err.Error(), c.say) || r != nil {
			t.Errorf("%s: got report %v, error %v; want no report and a bad report saying %q", c.name, r != nil, err, c.say)
		}
	}
}

// dropL1 makes r a report written before per-sample L1 norms were recorded.
func dropL1(r *Report) {
	for k := range r.Samples.Outcomes {
		r.Samples.Outcomes[k].L1 = nil
	}
	for k := range r.Results {
		r.Results[k].Perturbation.L1Mean = nil
	}
}

// Reports written before per-sample L1 norms were recorded decode without
// l1_mean; merged with a part that has the norms, or resumed by a run that
// records them, they give the report the uninterrupted, unsharded run gives,
// without L1 norms and l1_mean, as the earlier report has none.
func TestEarlierReportsWithoutL1(t *testing.T) {
	m, src := fixture(t, 23)
	full, err := newReport(t, plan(t, m, src, specs...), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := cloneReport(t, full)
	dropL1(want)
	wantJSON := encode(t, want)
	if bytes.Contains(wantJSON, []byte(`"l1`)) {
		t.Fatal("the report without L1 norms still holds some")
	}
	if _, err := Decode(wantJSON); err != nil {
		t.Fatalf("a report without L1 norms: %v", err)
	}
	parts := shardReports(t, m, src, 2)
	for old := range parts {
		ps := []*Report{cloneReport(t, parts[0]), cloneReport(t, parts[1])}
		dropL1(ps[old])
		merged, err := Merge(ps)
		if err != nil {
			t.Fatalf("merging part %d without L1 norms: %v", old, err)
		}
		merged.Config.Shard = full.Config.Shard
		if !bytes.Equal(encode(t, merged), wantJSON) {
			t.Errorf("merging part %d without L1 norms: not the unsharded report without them", old)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := plan(t, m, src, specs...)
	p.Progress = &cancelAfter{k: 2, cancel: cancel}
	partial, _ := newReport(t, p, ctx, nil)
	partial = cloneReport(t, partial)
	dropL1(partial)
	resumed, err := newReport(t, plan(t, m, src, specs...), context.Background(), partial)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, resumed), wantJSON) {
		t.Error("resuming a partial report without L1 norms: not the uninterrupted report without them")
	}
}

// shardReports runs the fixture's plan of specs as each of n shards.
func shardReports(t *testing.T, m models.Model, src Source, n int) []*Report {
	t.Helper()
	var parts []*Report
	for i := range n {
		p := plan(t, m, src, specs...)
		p.Shard = Shard{i, n}
		r, err := newReport(t, p, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, r)
	}
	return parts
}

// cloneReport deep-copies a report through JSON (without verifying it).
func cloneReport(t *testing.T, r *Report) *Report {
	var c Report
	if err := json.Unmarshal(encode(t, r), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// Merge pairs outcome sets by key, refuses parts of another layout, and
// sizes nothing by the shard count a part claims.
func TestMergeRefusesOtherLayouts(t *testing.T) {
	m, src := fixture(t, 23)
	parts := shardReports(t, m, src, 2)
	if _, err := Merge([]*Report{cloneReport(t, parts[0]), cloneReport(t, parts[1])}); err != nil {
		t.Fatalf("untampered parts: %v", err)
	}
	for _, c := range []struct {
		name string
		f    func(r *Report)
		say  string
	}{
		{"outcome sets reordered", func(r *Report) {
			o := r.Samples.Outcomes
			o[1], o[2] = o[2], o[1]
		}, "samples.outcomes[1] is fgsm at linf eps 0.05; the configuration puts fgsm at linf eps 0.02 there"},
		{"checks null", func(r *Report) { r.Samples.Checks = nil }, "hold no reliability checks"},
		{"other total", func(r *Report) { r.Dataset.Total = 24 }, "parts are of 23 and 24 samples"},
	} {
		second := cloneReport(t, parts[1])
		c.f(second)
		if _, err := Merge([]*Report{cloneReport(t, parts[0]), second}); err == nil || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.say)
		}
	}
	// An empty part claiming 10^8 shards: refused in bounded time and memory.
	empty := cloneReport(t, parts[0])
	empty.Config.Shard = Shard{0, 100_000_000}
	empty.Dataset.Total = 0
	for k := range empty.Samples.Outcomes {
		o := &empty.Samples.Outcomes[k]
		*o = Outcomes{AttackID: o.AttackID, Norm: o.Norm, Eps: o.Eps}
	}
	empty.Samples = &Samples{Outcomes: empty.Samples.Outcomes}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Merge([]*Report{empty})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "shards missing: [1/100000000 2/100000000") || !strings.Contains(err.Error(), "(99999999 of 100000000)") {
		t.Errorf("a part claiming 1e8 shards: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("refusing a part claiming 1e8 shards allocated %d bytes", grew)
	}
}

// A part written to disk and read back merges (the layout check accepts
// what the engine writes, including empty shards).
func TestMergeEmptyShards(t *testing.T) {
	m, src := fixture(t, 3)
	dir := t.TempDir()
	var parts []*Report
	for i := 0; i < 4; i++ { // 4 shards of 3 samples: one is empty
		p := plan(t, m, src, "fgsm")
		p.Shard = Shard{i, 4}
		r, err := newReport(t, p, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "p.json")
		if err := os.WriteFile(path, encode(t, r), 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := ReadFile(path, 0)
		if err != nil {
			t.Fatalf("shard %d/4: %v", i, err)
		}
		parts = append(parts, back)
	}
	merged, err := Merge(parts)
	if err != nil || !merged.Complete || merged.Clean.N != 3 {
		t.Fatalf("merge: %v", err)
	}
}

// A stored gate verdict is re-derived from the verified figures: each check
// from its id and want; a flipped verdict or an edited got is refused.
func TestDecodeRederivesTheGate(t *testing.T) {
	r := fixtureReport(t)
	// A policy's requirements (see package gate), as ParsePolicy reads them.
	reqs := []Requirement{
		{Kind: "min_clean_accuracy", Threshold: 0.5, Use: "point", Line: 5},
		{Kind: "min_accuracy", Threshold: 0.5, WorstCase: "linf", Eps: 0.05, HasEps: true, Use: "lower_ci", Line: 6},
		{Kind: "min_accuracy", Threshold: 0.1, Attack: "pgd:steps=3", Eps: 0.02, HasEps: true, Use: "point", Line: 10},
		{Kind: "min_cosine", Threshold: 0.9, Attack: "fgsm", Eps: 0.05, HasEps: true, Use: "p5", Line: 13},
		{Kind: "max_kl", Threshold: 3, Attack: "square:queries=15", Eps: 0.05, HasEps: true, Use: "mean", Line: 17},
		{Kind: "min_accuracy", Threshold: 0.1, Attack: "fgsm", Eps: 0.9, HasEps: true, Use: "point", Line: 20},
		{Kind: "max_flags", Flags: map[string]int{"error": 0, "warning": 0}, Line: 23},
		{Kind: "no_regression", Threshold: 0.05, Attack: "fgsm", Eps: 0.05, HasEps: true, Line: 24},
	}
	if err := r.ApplyRequirements(reqs, r); err != nil {
		t.Fatal(err)
	}
	if r.Gate.Passed {
		t.Fatal("the policy was meant to fail")
	}
	gated := encode(t, r)
	if _, err := Decode(gated); err != nil {
		t.Fatalf("the gated report: %v", err)
	}
	checks := func(v map[string]any) []any { return arr(v, "gate", "checks") }
	for _, c := range []struct {
		name string
		f    func(v map[string]any)
		say  string
	}{
		{"verdict flipped", func(v map[string]any) { obj(v, "gate")["passed"] = true },
			"gate.passed is true but the per-sample outcomes give false"},
		{"every check passed", func(v map[string]any) {
			obj(v, "gate")["passed"] = true
			for _, c := range checks(v) {
				c.(map[string]any)["passed"] = true
			}
		}, ".passed is true but the per-sample outcomes give false"},
		{"got edited", func(v map[string]any) { obj(v, "gate", "checks", 3)["got"] = "0.99" },
			`gate.checks[3] (attack/pgd:steps=3/0.02/min_accuracy).got is "0.99" but the per-sample outcomes give "0"`},
		{"complete check dropped", func(v map[string]any) { obj(v, "gate")["checks"] = checks(v)[1:] },
			"gate.checks does not start with report/complete"},
		{"unknown requirement", func(v map[string]any) { obj(v, "gate", "checks", 1)["id"] = "clean/max_accuracy" },
			"gate.checks[1] (clean/max_accuracy)"},
		{"want not written by advcheck", func(v map[string]any) { obj(v, "gate", "checks", 4)["want"] = "≥ 0.9 (p1)" },
			"is not a requirement advcheck writes"},
		{"regression passed against its p-value", func(v map[string]any) {
			c := obj(v, "gate", "checks", 8)
			c["got"], c["passed"] = "p = 0.001 (9 samples newly broken, 0 newly robust)", true
		}, "gate.checks[8] (attack/fgsm/0.05/no_regression).passed is true but the per-sample outcomes give false"},
	} {
		_, err := Decode(edit(t, gated, c.f))
		if !errors.Is(err, ErrBadReport) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: got %v, want a bad report saying %q", c.name, err, c.say)
		}
	}
}
