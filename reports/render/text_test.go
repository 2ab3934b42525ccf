package render

import (
	"strings"
	"testing"

	"github.com/advcheck/advcheck/reports"
)

// TestTableWithNoAttackedSample: when every sample is a clean error no
// sample is attacked, the movement figures are null, and the table must not
// show them as a cosine of 1 (the figures are checked in package reports,
// TestMovementWithNoAttackedSample).
func TestTableWithNoAttackedSample(t *testing.T) {
	n := 4
	wrong := []int{5, 5, 5, 5}
	ones := []reports.F32{1, 1, 1, 1}
	s := &reports.Samples{Label: make([]int, n), CleanPred: wrong}
	o := reports.Outcomes{AttackID: "fgsm", Norm: "linf", Eps: 0.03, Pred: wrong, CosLogits: ones, CosProbs: ones, KL: make([]reports.F32, n),
		Linf: make([]reports.F32, n), L2: make([]reports.F32, n), Queries: make([]int, n)}
	for i := 0; i < n; i++ {
		s.Index = append(s.Index, i)
		s.Label[i] = i % 10
	}
	s.Outcomes = []reports.Outcomes{o}
	r := &reports.Report{Schema: reports.Schema, Complete: true, Samples: s, Config: reports.Config{
		Attacks: []reports.AttackConfig{{AttackID: "fgsm", Name: "fgsm", Norm: "linf"}},
		Eps:     []reports.EpsConfig{{Norm: "linf", Requested: "0.03", Value: 0.03}},
	}}
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	if r.Results[0].NAttacked != 0 {
		t.Fatalf("n_attacked %d, want 0", r.Results[0].NAttacked)
	}
	var table strings.Builder
	if err := Table(&table, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), "1.000") {
		t.Errorf("the table shows a cosine of 1 with no sample attacked:\n%s", table.String())
	}
}
