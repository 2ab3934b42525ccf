package reports

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestGate(t *testing.T) {
	m, src := fixture(t, 20)
	r, err := newReport(t, plan(t, m, src, "fgsm", "pgd:steps=3"), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The requirements of a policy (see package gate) with a
	// no_regression check, as ParsePolicy reads them.
	reqs := []Requirement{
		{Kind: "min_clean_accuracy", Threshold: 0.5, Use: "point", Line: 5},
		{Kind: "min_accuracy", Threshold: 0, WorstCase: "linf", Eps: 0.05, HasEps: true, Use: "point", Line: 6},
		{Kind: "min_accuracy", Threshold: 1, Attack: "pgd", Eps: 0.05, HasEps: true, Use: "point", Line: 9},
		{Kind: "min_accuracy", Threshold: 0.1, Attack: "fgsm", Eps: 0.9, HasEps: true, Use: "point", Line: 12},
		{Kind: "no_regression", Threshold: 0.05, Attack: "fgsm", Eps: 0.05, HasEps: true, Line: 15},
	}
	if err := r.ApplyRequirements(reqs, nil); !errors.Is(err, ErrPolicy) {
		t.Fatalf("no_regression without a baseline: %v", err)
	}
	// Against itself there is no regression.
	if err := r.ApplyRequirements(reqs, r); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"report/complete":                      true,
		"clean/min_accuracy":                   float64(r.Clean.Accuracy) >= 0.5,
		"worst_case/linf/0.05/min_accuracy":    true,
		"attack/pgd:steps=3/0.05/min_accuracy": false, // PGD breaks something
		"attack/fgsm/0.9/min_accuracy":         false, // eps 0.9 is not in the report
		"attack/fgsm/0.05/no_regression":       true,
	}
	for _, c := range r.Gate.Checks {
		w, ok := want[c.ID]
		if !ok {
			t.Errorf("unexpected check %q", c.ID)
			continue
		}
		if c.Passed != w {
			t.Errorf("%s: passed %v, want %v (want %s, got %s)", c.ID, c.Passed, w, c.Want, c.Got)
		}
	}
	if r.Gate.Passed {
		t.Error("gate passed with failing checks")
	}
	// A baseline on which every sample was robust makes the current run a regression.
	b := *r
	bs := *r.Samples
	b.Samples = &bs
	bs.Outcomes = append([]Outcomes(nil), r.Samples.Outcomes...)
	for k := range bs.Outcomes {
		o := &bs.Outcomes[k]
		o.Pred = append([]int(nil), bs.Label...)
	}
	q := Requirement{Kind: "no_regression", Attack: "pgd", Eps: 0.05, HasEps: true, Threshold: 0.05}
	_, pv, worse, better, err := regression(r, &b, q)
	if err != nil {
		t.Fatal(err)
	}
	if worse == 0 || better != 0 || pv >= 0.05 {
		t.Errorf("regression against an all-robust baseline: p %v, worse %d, better %d", pv, worse, better)
	}
	// An incomplete report never passes.
	r.Complete = false
	r.ApplyRequirements([]Requirement{{Kind: "min_clean_accuracy", Threshold: 0, Use: "point"}}, nil)
	if r.Gate.Passed {
		t.Error("an incomplete report passed")
	}
}

// TestGateMinNorm: min_median_min_norm passes when the attack's median
// minimal norm reaches the bound and fails below it, names the attack by id
// or by name, fails for an attack without minimal norms, passes a null
// median (the median sample unbroken), and the stored verdict re-derives.
func TestGateMinNorm(t *testing.T) {
	m, src := fixture(t, 20)
	r, err := newReport(t, plan(t, m, src, "fgsm", "deepfool:steps=5"), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Summary.MinNorm) != 1 || !r.Summary.MinNorm[0].Median.Valid() {
		t.Fatalf("summary.min_norm %+v: want one attack with a median", r.Summary.MinNorm)
	}
	med := float64(r.Summary.MinNorm[0].Median)
	reqs := []Requirement{
		{Kind: "min_median_min_norm", Threshold: med * 0.99, Attack: "deepfool"},
		{Kind: "min_median_min_norm", Threshold: med * 1.01, Attack: "deepfool:steps=5"},
		{Kind: "min_median_min_norm", Threshold: 0, Attack: "fgsm"},
		{Kind: "min_median_min_norm", Threshold: 0, Attack: "pgd"},
	}
	if err := r.ApplyRequirements(reqs, nil); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id     string
		passed bool
		got    string
	}{
		{"report/complete", true, "true"},
		{"min_norm/deepfool:steps=5/min_median_min_norm", true, fmtNum(Num(med))},
		{"min_norm/deepfool:steps=5/min_median_min_norm", false, fmtNum(Num(med))},
		{"min_norm/fgsm/min_median_min_norm", false, "fgsm has no minimal norms in the report (only cw, deepfool, fmn, fab and fab-t have)"},
		{"min_norm/pgd/min_median_min_norm", false, "attack pgd is not in the report"},
	}
	if len(r.Gate.Checks) != len(want) {
		t.Fatalf("checks %+v", r.Gate.Checks)
	}
	for i, w := range want {
		c := r.Gate.Checks[i]
		if c.ID != w.id || c.Passed != w.passed || c.Got != w.got {
			t.Errorf("check %d: %s passed %v got %q, want %s passed %v got %q", i, c.ID, c.Passed, c.Got, w.id, w.passed, w.got)
		}
	}
	if r.Gate.Passed {
		t.Error("gate passed with failing checks")
	}
	if err := r.verifyGate(); err != nil {
		t.Fatalf("the stored verdict does not re-derive: %v", err)
	}
	r.Gate.Checks[2].Passed = true
	if err := r.verifyGate(); err == nil {
		t.Error("a tampered min_median_min_norm verdict re-derives")
	}
	// A null median: the median sample was never broken, so it is farther
	// than any bound.
	r.Summary.MinNorm[0].Median = Num(math.NaN())
	if err := r.ApplyRequirements(reqs[1:2], nil); err != nil {
		t.Fatal(err)
	}
	if c := r.Gate.Checks[1]; !c.Passed || !strings.HasPrefix(c.Got, "null: the median attacked sample was not broken") {
		t.Errorf("null median: passed %v, got %q", c.Passed, c.Got)
	}
}
