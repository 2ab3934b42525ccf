package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/reports"
)

// certifyQuick is a small sweep with randomized smoothing beside an L2 attack.
var certifyQuick = []string{"--limit", "6", "--batch", "64", "--attack", "fgsm,pgd:steps=2,norm=l2", "--eps", "linf=0,0.1 l2=0,0.5,1",
	"--certify", "smoothing:n0=10,n=100", "--checks=false", "--examples", "0", "-q"}

// TestSweepCertify: --certify smoothing writes certified rows per L2 eps
// and the radius summary into the report, and its text table, Markdown and
// JUnit; sharded runs merge to the single-process report; a resumed run
// completes it; mistakes in the spec are usage errors (exit 2).
func TestSweepCertify(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.json")
	md := filepath.Join(dir, "r.md")
	junit := filepath.Join(dir, "r.xml")
	code, out, errs := advcheck(t, append([]string{"sweep", "--json", full, "--md", md, "--junit", junit}, certifyQuick[:len(certifyQuick)-1]...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	v := readJSON(t, full)
	rows, _ := v["certified"].([]any)
	if len(rows) != 3 {
		t.Fatalf("certified rows %v, want one per L2 eps", v["certified"])
	}
	for _, row := range rows {
		m := row.(map[string]any)
		if m["classifier"] != "smoothed" || m["norm"] != "l2" || m["certify_id"] != "smoothing:n0=10,n=100" {
			t.Errorf("row %v", m)
		}
	}
	if !strings.Contains(out, "certified smoothing:n0=10,n=100 (smoothed g)") || !strings.Contains(out, "certifies g, the smoothed classifier, not the model") {
		t.Errorf("the table lacks the certified rows:\n%s", out)
	}
	if s := mustRead(t, md); !strings.Contains(s, "certified smoothing:n0=10,n=100 (smoothed g)") {
		t.Errorf("Markdown lacks the certified rows:\n%s", s)
	}
	if s := mustRead(t, junit); !strings.Contains(s, `name="certified/smoothing:n0=10,n=100/l2/0.5"`) {
		t.Errorf("JUnit lacks the certified cases:\n%s", s)
	}
	var parts []string
	for i := range 2 {
		p := filepath.Join(dir, "part"+string(rune('0'+i))+".json")
		parts = append(parts, p)
		if code, _, errs := advcheck(t, append([]string{"sweep", "--shard", string(rune('0'+i)) + "/2", "--json", p}, certifyQuick...)...); code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, errs)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	if code, _, errs := advcheck(t, append([]string{"merge", "--json", merged, "-q"}, parts...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if withoutRun(t, full) != withoutRun(t, merged) {
		t.Error("merged shards differ from the single-process report")
	}
	// A report without the certificates does not resume a run with them.
	plain := filepath.Join(dir, "plain.json")
	if code, _, errs := advcheck(t, append([]string{"sweep", "--json", plain, "--checks=false", "-q"}, certifyQuick[:len(certifyQuick)-6]...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, _, errs := advcheck(t, append([]string{"sweep", "--json", filepath.Join(dir, "x.json"), "--resume", plain}, certifyQuick...)...); code != 3 {
		t.Errorf("resume of another plan: exit %d: %s", code, errs)
	}
	for _, c := range []struct{ spec, eps, want string }{
		{"smoothing:sigma=0", "linf=0 l2=0,1", "sigma"},
		{"smoothing:k=1", "linf=0 l2=0,1", `no parameter "k"`},
		{"lp", "linf=0 l2=0,1", "unknown method"},
		{"smoothing,smoothing", "linf=0 l2=0,1", "given twice"},
		{"smoothing", "linf=0,0.1", "--eps gives none"},
	} {
		code, _, errs := advcheck(t, "sweep", "--limit", "2", "--attack", "fgsm", "--eps", c.eps, "--certify", c.spec, "-q")
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("--certify %s --eps %s: exit %d, %q; want 2 and one line with %q", c.spec, c.eps, code, errs, c.want)
		}
	}
}

// TestSweepCertifyBounds: ibp and crown on the zoo MLP certify at small
// radii, crown at least what ibp does, never a sample an attack breaks
// (no certified_broken flag), and every worst-case row carries the
// interval [certified, attacked].
func TestSweepCertifyBounds(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, errs := advcheck(t, "sweep", "--model", "zoo:mnist-mlp", "--limit", "6", "--attack", "fgsm,pgd:steps=5", "--certify", "ibp,crown",
		"--eps", "linf=0,0.01,0.03", "--checks=false", "--examples", "0", "-q", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	v := readJSON(t, out)
	certified := map[string]map[float64]float64{}
	for _, row := range v["certified"].([]any) {
		m := row.(map[string]any)
		id := m["certify_id"].(string)
		if certified[id] == nil {
			certified[id] = map[float64]float64{}
		}
		certified[id][m["eps"].(float64)] = m["n_certified"].(float64)
	}
	if certified["ibp"][0] == 0 || certified["crown"][0.01] == 0 {
		t.Errorf("certified counts %v: want ibp at eps 0 and crown at 0.01", certified)
	}
	for eps, n := range certified["ibp"] {
		if certified["crown"][eps] < n {
			t.Errorf("eps %g: crown certified %v, ibp %v", eps, certified["crown"][eps], n)
		}
	}
	for _, w := range v["worst_case"].([]any) {
		m := w.(map[string]any)
		c, ok := m["certified"].(map[string]any)
		if !ok || c["n_certified"].(float64) > m["n_robust"].(float64) {
			t.Errorf("worst case %v: want certified ≤ robust", m)
		}
	}
	for _, f := range v["flags"].([]any) {
		if f.(map[string]any)["id"] == "certified_broken" {
			t.Errorf("flag %v", f)
		}
	}
}

// TestCertifiedBrokenExits4: a report holding the certified_broken flag
// makes the sweep fail as a bug (exit 4), naming the contradiction on
// stderr; other flags do not.
func TestCertifiedBrokenExits4(t *testing.T) {
	var stderr strings.Builder
	r := &reports.Report{Flags: []reports.Flag{{ID: "null_metric", Severity: "info", Message: "x"}}}
	if err := certifiedBroken(r, &stderr); err != nil {
		t.Fatalf("no contradiction, yet %v", err)
	}
	r.Flags = append(r.Flags, reports.Flag{ID: reports.FlagCertifiedBroken, Severity: "error", Message: "2 samples certified by ibp are misclassified"})
	err := certifiedBroken(r, &stderr)
	if err == nil || exitCode(err, nil) != exitInternal || !strings.Contains(stderr.String(), "2 samples certified by ibp") {
		t.Errorf("error %v (exit %d), stderr %q: want exit 4 and the flag's message", err, exitCode(err, nil), stderr.String())
	}
}

const certifyPolicy = `apiVersion: advcheck/policy/v1
model: zoo:mnist-mlp
data: {spec: mnist-sample, limit: 6}
attacks: [fgsm]
certify: [crown, "smoothing:n0=10,n=100"]
eps: {linf: [0, 0.01, 0.05], l2: [0, 0.25]}
requirements:
  - min_certified_accuracy: 0.8
    certify: crown
    eps: 0.01
  - min_certified_accuracy: 0.5
    worst_case: linf
    eps: 0.05
  - min_certified_accuracy: 0.5
    certify: smoothing
    eps: 0
`

// TestGateCertified: a policy's certify runs in the gate's sweep and its
// min_certified_accuracy checks pass or fail on the certified figures; the
// saved report gates the same, and a report of a sweep without the
// certification is not the policy's (exit 3).
func TestGateCertified(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(policy, []byte(certifyPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "gate.json")
	code, _, errs := advcheck(t, "gate", "--policy", policy, "--json", out, "-q")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one requirement fails): %s", code, errs)
	}
	checks := map[string]bool{}
	for _, c := range readJSON(t, out)["gate"].(map[string]any)["checks"].([]any) {
		m := c.(map[string]any)
		checks[m["id"].(string)] = m["passed"].(bool)
	}
	want := map[string]bool{"certified/crown/0.01/min_certified_accuracy": true, "worst_case/linf/0.05/min_certified_accuracy": false,
		"certified/smoothing:n0=10,n=100/0/min_certified_accuracy": true}
	for id, pass := range want {
		if got, ok := checks[id]; !ok || got != pass {
			t.Errorf("check %s: passed %v (present %v), want %v; checks %v", id, got, ok, pass, checks)
		}
	}
	// The gated report reads back: its verdict is re-derived from its figures.
	if code, _, errs := advcheck(t, "report", out, "--md", filepath.Join(dir, "gate.md")); code != 0 {
		t.Errorf("report gate.json: exit %d: %s", code, errs)
	}
	if s := mustRead(t, filepath.Join(dir, "gate.md")); !strings.Contains(s, "worst\\_case/linf/0.05/min\\_certified\\_accuracy") {
		t.Errorf("the Markdown lacks the failed check:\n%s", s)
	}
	sweep := filepath.Join(dir, "sweep.json")
	if code, _, errs := advcheck(t, "sweep", "--model", "zoo:mnist-mlp", "--limit", "6", "--attack", "fgsm", "--certify", "crown,smoothing:n0=10,n=100",
		"--eps", "linf=0,0.01,0.05 l2=0,0.25", "--json", sweep, "-q"); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	if code, _, errs := advcheck(t, "gate", "--policy", policy, "--report", sweep, "-q"); code != 1 {
		t.Errorf("gate --report: exit %d: %s", code, errs)
	}
	// Without smoothing the report has no L2 radii; with other smoothing
	// parameters it has another method.
	plain := filepath.Join(dir, "plain.json")
	if code, _, errs := advcheck(t, "sweep", "--model", "zoo:mnist-mlp", "--limit", "6", "--attack", "fgsm", "--certify", "crown",
		"--eps", "linf=0,0.01,0.05", "--json", plain, "-q"); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	other := filepath.Join(dir, "other.json")
	if code, _, errs := advcheck(t, "sweep", "--model", "zoo:mnist-mlp", "--limit", "6", "--attack", "fgsm", "--certify", "crown,smoothing:n0=10,n=50",
		"--eps", "linf=0,0.01,0.05 l2=0,0.25", "--json", other, "-q"); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	expect(t, 3, "config.certify", "gate", "--policy", policy, "--report", other, "-q")
	expect(t, 3, "config.eps: the policy gives l2 0,0.25", "gate", "--policy", policy, "--report", plain, "-q")
}
