package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/attacks/corruption"
	"github.com/advcheck/advcheck/reports"
)

// The zoo CNN over every corruption at every severity, beside FGSM, on the
// first 32 samples of the embedded MNIST sample (75 forward passes of 32
// images: about 2 s of CPU per run): the report has a cell per
// corruption and severity, shards merge to it exactly,
// another batch size and thread count give the same bytes, and `advcheck
// report` re-renders the same table.
func TestCorruptionSweep(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--limit", "32", "--attack", "fgsm,corruptions", "--eps", "0,0.1", "--severity", "1:5", "--checks=false"}
	full := filepath.Join(dir, "full.json")
	code, out, errs := advcheck(t, append([]string{"sweep", "--batch", "16", "--json", full, "--html", filepath.Join(dir, "r.html"), "--samples", filepath.Join(dir, "s.jsonl")}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r, err := reports.ReadFile(full, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := corruption.Names()
	c := r.Corruptions
	if c == nil || len(c.Results) != 5*len(names) || len(r.Config.Corruptions) != len(names) || len(r.Results) != 2 {
		t.Fatalf("report: %d results, corruptions %+v", len(r.Results), r.Config.Corruptions)
	}
	for k, res := range c.Results {
		if res.Corruption != names[k/5] || res.Severity != k%5+1 || res.N != 32 {
			t.Errorf("corruptions.results[%d] is %s at %d over %d samples", k, res.Corruption, res.Severity, res.N)
		}
	}
	for _, want := range []string{"corruption accuracy (overall)", "fgsm", names[len(names)-1] + " (all severities)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if s := mustRead(t, filepath.Join(dir, "s.jsonl")); strings.Count(s, `"corruption":`) != 32*5*len(names) {
		t.Errorf("samples file: %d corrupted outcomes, want %d", strings.Count(s, `"corruption":`), 32*5*len(names))
	}
	other := filepath.Join(dir, "other.json")
	if code, _, errs := advcheck(t, append([]string{"sweep", "--batch", "16", "--threads", "1", "--json", other, "-q"}, args...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if withoutRun(t, full) != withoutRun(t, other) {
		t.Error("one thread and two give other reports")
	}
	var parts []string
	for _, sh := range []string{"0/2", "1/2"} {
		p := filepath.Join(dir, "part"+sh[:1]+".json")
		parts = append(parts, p)
		if code, _, errs := advcheck(t, append([]string{"sweep", "--batch", "16", "--shard", sh, "--json", p, "-q"}, args...)...); code != 0 {
			t.Fatalf("shard %s: exit %d: %s", sh, code, errs)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	if code, _, errs := advcheck(t, append([]string{"merge", "--json", merged, "-q"}, parts...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if withoutRun(t, full) != withoutRun(t, merged) {
		t.Error("merged shards differ from the single-process report")
	}
	if code, again, _ := advcheck(t, "report", full); code != 0 || again != out {
		t.Errorf("report re-render differs (exit %d)", code)
	}
}

// mCE against a baseline report is Σ errors ÷ Σ baseline errors per
// corruption, recomputed here from the two reports' cells; a baseline of
// other data or corruptions is refused (exit 3); flags that do not fit
// are usage errors (exit 2).
func TestCorruptionBaselineAndFlags(t *testing.T) {
	dir := t.TempDir()
	base, cur := filepath.Join(dir, "base.json"), filepath.Join(dir, "cur.json")
	args := []string{"--limit", "40", "--attack", "corruption:name=brightness,name=contrast", "--severity", "3:5", "-q"}
	if code, _, errs := advcheck(t, append([]string{"sweep", "--model", "zoo:mnist-mlp", "--json", base}, args...)...); code != 0 {
		t.Fatalf("baseline: exit %d: %s", code, errs)
	}
	if code, _, errs := advcheck(t, append([]string{"sweep", "--baseline", base, "--json", cur}, args...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rb, err := reports.ReadFile(base, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := reports.ReadFile(cur, 0)
	if err != nil {
		t.Fatal(err)
	}
	errSum := func(rep *reports.Report, name string) (s float64) {
		for _, res := range rep.Corruptions.Results {
			if res.Corruption == name {
				s += 1 - float64(res.Accuracy)
			}
		}
		return s
	}
	m := r.Corruptions.MCE
	if m == nil || r.Config.CorruptionBaseline.ModelPath != "zoo:mnist-mlp" {
		t.Fatal("no mCE against the baseline")
	}
	mean := 0.0
	for k, name := range []string{"brightness", "contrast"} {
		want := errSum(r, name) / errSum(rb, name)
		if got := float64(m.Corruptions[k].CE); got != want {
			t.Errorf("%s: CE %g, want %g", name, got, want)
		}
		mean += want / 2
	}
	if float64(m.MCE) != mean {
		t.Errorf("mCE %g, want %g", float64(m.MCE), mean)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--limit", "30", "--baseline", base, "--attack", "corruption:name=brightness", "--severity", "3:5"}, 3, "other data"},
		{[]string{"--limit", "40", "--baseline", base, "--attack", "corruption:name=pixelate", "--severity", "3:5"}, 3, "did not run corruption pixelate"},
		{[]string{"--limit", "40", "--baseline", base, "--attack", "corruption:name=brightness", "--severity", "1:5"}, 3, "did not run brightness at severity 1"},
		{[]string{"--limit", "40", "--baseline", filepath.Join(dir, "none.json"), "--attack", "corruptions"}, 3, "none.json"},
		{[]string{"--severity", "1:3"}, 2, "--severity is for corruptions"},
		{[]string{"--baseline", base}, 2, "--baseline is for corruptions"},
		{[]string{"--attack", "corruptions", "--severity", "0:2"}, 2, "want levels 1 to 5"},
		{[]string{"--attack", "corruptions", "--severity", "2,2"}, 2, "given twice"},
		{[]string{"--attack", "corruption:name=haze"}, 2, "unknown corruption"},
		{[]string{"--attack", "corruption"}, 2, "name the corruption"},
		{[]string{"--attack", "corruptions:severity=2"}, 2, "takes no parameters"},
		{[]string{"--attack", "corruptions,corruption:name=brightness"}, 2, "given twice"},
		{[]string{"--attack", "corruptions", "--task", "embedding"}, 2, "needs them"},
	} {
		code, _, errs := advcheck(t, append([]string{"sweep", "-q"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.msg) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, %q; want exit %d and one line with %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.json")); err == nil {
		t.Fatal("none.json exists")
	}
}

// A policy with corruptions runs them in the gate's sweep and checks
// min_corruption_accuracy; the JUnit XML has a test case per check; a saved
// report of the same sweep gives the same verdict, and one of other
// severities is refused as another sweep (exit 3).
func TestCorruptionGate(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "p.yaml")
	doc := `apiVersion: advcheck/policy/v1
model: zoo:mnist-cnn
data: {limit: 40}
attacks: [fgsm]
eps: [0, 0.1]
corruptions: [brightness, contrast]
severity: [1, 5]
requirements:
  - min_corruption_accuracy: 0.5
  - min_corruption_accuracy: 0.99
    corruption: contrast
    severity: 5
    use: lower_ci
`
	if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	junit, gated := filepath.Join(dir, "j.xml"), filepath.Join(dir, "g.json")
	code, out, errs := advcheck(t, "gate", "--policy", policy, "--junit", junit, "--json", gated)
	if code != 1 {
		t.Fatalf("gate: exit %d, want 1 (the cell's lower bound is under 0.99): %s\n%s", code, errs, out)
	}
	r, err := reports.ReadFile(gated, 0) // re-derives the verdict
	if err != nil {
		t.Fatal(err)
	}
	checks := r.Gate.Checks
	if len(checks) != 3 || checks[1].ID != "corruptions/all/all/min_corruption_accuracy" || !checks[1].Passed ||
		checks[2].ID != "corruptions/contrast/5/min_corruption_accuracy" || checks[2].Passed {
		t.Fatalf("checks %+v", checks)
	}
	if float64(r.Corruptions.Overall.Accuracy) < 0.5 {
		t.Fatalf("overall corruption accuracy %v", r.Corruptions.Overall.Accuracy)
	}
	x := mustRead(t, junit)
	for _, id := range []string{checks[1].ID, checks[2].ID} {
		if !strings.Contains(x, `name="`+id+`"`) {
			t.Errorf("JUnit lacks %s:\n%s", id, x)
		}
	}
	saved := filepath.Join(dir, "s.json")
	sweep := []string{"sweep", "--limit", "40", "--attack", "fgsm,corruption:name=brightness,name=contrast", "--eps", "0,0.1", "-q"}
	if code, _, errs := advcheck(t, append(sweep, "--severity", "1,5", "--json", saved)...); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	if code, out2, errs := advcheck(t, "gate", "--policy", policy, "--report", saved); code != 1 || !strings.Contains(out2, "FAIL") {
		t.Errorf("gate --report: exit %d: %s", code, errs)
	}
	if code, _, errs := advcheck(t, append(sweep, "--severity", "1,4", "--json", saved)...); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	if code, _, errs := advcheck(t, "gate", "--policy", policy, "--report", saved); code != 3 || !strings.Contains(errs, "config.severities") {
		t.Errorf("gate --report of other severities: exit %d: %s", code, errs)
	}
}
