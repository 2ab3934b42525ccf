package reports

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/attacks"
)

// A report that names the policy's attack id but records other parameters
// (forged, or made by a version with other defaults) does not match; the
// same parameters, decoded from JSON as float64, do.
func TestMatchPolicyParams(t *testing.T) {
	p, err := ParsePolicy(strings.NewReader("apiVersion: advcheck/policy/v1\nmodel: m.onnx\nattacks: [\"pgd:steps=3\"]\neps: {linf: [0, 0.1]}\nrequirements: [{min_clean_accuracy: 0.5}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := attacks.Parse("pgd:steps=3")
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Schema: Schema, Model: Model{Path: "m.onnx", InputContract: InputContract{Layout: "nchw", Bounds: [2]float64{0, 1}, Scale: 1}},
		Dataset: Dataset{Spec: "mnist-sample", LabelSource: "truth"},
		Config: Config{Attacks: []AttackConfig{{AttackID: a.ID(), Name: "pgd", Norm: "linf", Params: a.Params()}},
			Eps: []EpsConfig{{Norm: "linf", Value: 0}, {Norm: "linf", Value: 0.1}}, Shard: Shard{0, 1}},
		// Every report read must hold per-sample outcomes (here for no samples)
		// and the figures they give.
		Samples: &Samples{Outcomes: []Outcomes{{AttackID: a.ID(), Norm: "linf", Eps: 0}, {AttackID: a.ID(), Norm: "linf", Eps: 0.1}}}}
	decoded := func() *Report {
		if err := r.Reduce(); err != nil {
			t.Fatal(err)
		}
		b, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := Read(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := decoded().MatchPolicy(p); err != nil {
		t.Fatalf("the policy's own configuration: %v", err)
	}
	// Labels renumbered by a --classes file are not the policy's data set.
	r.Dataset.ClassMap = &ClassMap{Source: "classes_file", File: "wnids.txt"}
	if err := decoded().MatchPolicy(p); !errors.Is(err, ErrPolicyMismatch) || !strings.Contains(err.Error(), "dataset.class_map") || !strings.Contains(err.Error(), "--classes wnids.txt") {
		t.Errorf("a --classes report: %v", err)
	}
	r.Dataset.ClassMap = &ClassMap{Source: "folders"}
	if err := decoded().MatchPolicy(p); err != nil {
		t.Errorf("the folders' own class map: %v", err)
	}
	r.Config.Attacks[0].Params["restarts"] = 5
	err = decoded().MatchPolicy(p)
	if !errors.Is(err, ErrPolicyMismatch) || !strings.Contains(err.Error(), `config.attacks[pgd:steps=3].params`) || !strings.Contains(err.Error(), `"restarts":5`) {
		t.Errorf("other params under the same id: %v", err)
	}
}
