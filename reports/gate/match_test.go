package gate

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/reports"
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
	r := &reports.Report{Schema: reports.Schema, Model: reports.Model{Path: "m.onnx", InputContract: reports.InputContract{Layout: "nchw", Bounds: [2]float64{0, 1}, Scale: 1}},
		Dataset: reports.Dataset{Spec: "mnist-sample", LabelSource: "truth"},
		Config: reports.Config{Attacks: []reports.AttackConfig{{AttackID: a.ID(), Name: "pgd", Norm: "linf", Params: a.Params()}},
			Eps: []reports.EpsConfig{{Norm: "linf", Value: 0}, {Norm: "linf", Value: 0.1}}, Shard: reports.Shard{I: 0, N: 1}},
		// Every report read must hold per-sample outcomes (here for no samples)
		// and the figures they give.
		Samples: &reports.Samples{Outcomes: []reports.Outcomes{{AttackID: a.ID(), Norm: "linf", Eps: 0}, {AttackID: a.ID(), Norm: "linf", Eps: 0.1}}}}
	decoded := func() *reports.Report {
		if err := r.Reduce(); err != nil {
			t.Fatal(err)
		}
		b, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := reports.Read(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := Match(decoded(), p); err != nil {
		t.Fatalf("the policy's own configuration: %v", err)
	}
	// Labels renumbered by a --classes file are not the policy's data set.
	r.Dataset.ClassMap = &reports.ClassMap{Source: "classes_file", File: "wnids.txt"}
	if err := Match(decoded(), p); !errors.Is(err, ErrPolicyMismatch) || !strings.Contains(err.Error(), "dataset.class_map") || !strings.Contains(err.Error(), "--classes wnids.txt") {
		t.Errorf("a --classes report: %v", err)
	}
	r.Dataset.ClassMap = &reports.ClassMap{Source: "folders"}
	if err := Match(decoded(), p); err != nil {
		t.Errorf("the folders' own class map: %v", err)
	}
	r.Config.Attacks[0].Params["restarts"] = 5
	err = Match(decoded(), p)
	if !errors.Is(err, ErrPolicyMismatch) || !strings.Contains(err.Error(), `config.attacks[pgd:steps=3].params`) || !strings.Contains(err.Error(), `"restarts":5`) {
		t.Errorf("other params under the same id: %v", err)
	}
}

// A policy's data.resize and data.center_crop must be the report's
// preprocessing: a report made without it, or with another crop, does not
// match.
func TestMatchPolicyPreprocess(t *testing.T) {
	p, err := ParsePolicy(strings.NewReader("apiVersion: advcheck/policy/v1\nmodel: m.onnx\ndata: {spec: \"folder:imgs\", resize: 256, center_crop: 224}\nattacks: [fgsm]\neps: {linf: [0]}\nrequirements: [{min_clean_accuracy: 0.5}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Data.Resize != 256 || !slices.Equal(p.Data.CenterCrop, []int{224, 224}) {
		t.Fatalf("data %+v, want resize 256 and crop [224 224]", p.Data)
	}
	for _, c := range []struct {
		pp   *reports.Preprocess
		want string // "" = matches
	}{
		{&reports.Preprocess{Resize: 256, CenterCrop: []int{224, 224}, Filter: "f"}, ""},
		{nil, "the policy gives resize 256 and center crop 224×224, the report has no resize or crop"},
		{&reports.Preprocess{Resize: 256, CenterCrop: []int{224, 200}, Filter: "f"}, "the report has resize 256 and center crop 224×200"},
		{&reports.Preprocess{CenterCrop: []int{224, 224}}, "the report has center crop 224×224"},
	} {
		err := matchPreprocess(p.Data, c.pp)
		if c.want == "" && err != nil || c.want != "" && (!errors.Is(err, ErrPolicyMismatch) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "dataset.preprocess")) {
			t.Errorf("%+v: %v, want %q", c.pp, err, c.want)
		}
	}
	q, err := ParsePolicy(strings.NewReader("apiVersion: advcheck/policy/v1\nmodel: m.onnx\ndata: {spec: \"folder:imgs\", center_crop: [224, 200]}\nattacks: [fgsm]\nrequirements: [{min_clean_accuracy: 0.5}]\n"))
	if err != nil || q.Data.Resize != 0 || !slices.Equal(q.Data.CenterCrop, []int{224, 200}) {
		t.Errorf("center_crop [224, 200]: %+v, %v", q.Data, err)
	}
	for _, bad := range []string{"resize: 0", "resize: -3", "center_crop: [1, 2, 3]", "center_crop: 0", "center_crop: {h: 1}"} {
		_, err := ParsePolicy(strings.NewReader("apiVersion: advcheck/policy/v1\nmodel: m.onnx\ndata: {spec: \"folder:imgs\", " + bad + "}\nattacks: [fgsm]\nrequirements: [{min_clean_accuracy: 0.5}]\n"))
		if !errors.Is(err, ErrPolicy) {
			t.Errorf("%s: %v, want a policy error", bad, err)
		}
	}
}
