package reports

import (
	"context"
	"errors"
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
