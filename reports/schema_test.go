package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("report-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("report-v1.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("report-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, name string, b []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s does not follow the schema: %v", name, err)
	}
}

// TestReportsFollowTheSchema validates every golden report in
// testdata/reports and freshly computed ones (complete, partial, with nulls)
// against the JSON Schema that ships with advcheck.
func TestReportsFollowTheSchema(t *testing.T) {
	s := compileSchema(t)
	goldens, _ := filepath.Glob(filepath.Join(testdata, "reports", "*.json"))
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, s, g, b)
	}
	m, src := fixture(t, 9)
	r, err := newReport(t, plan(t, m, src, "fgsm", "pgd:steps=2,norm=l2"), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Run = RunOf(timeZero, []string{"advcheck", "sweep"})
	r.Model = ModelOf("testdata/models/view_chain.onnx", m)
	r.Model.SHA256 = sha64
	r.Dataset.SHA256Decoded = sha64
	validate(t, s, "fresh report", encode(t, r))
	r.Dataset.Decoder = "libjpeg-turbo 2.1.5 (islow, fancy upsampling)"
	validate(t, s, "report with a JPEG decoder", encode(t, r))
	r.Gate = &Gate{Passed: false, Checks: []GateCheck{{ID: "clean/min_accuracy", Want: "≥ 0.9", Got: "0.5"}}}
	validate(t, s, "gated report", encode(t, r))
	mn, err := newReport(t, plan(t, m, src, "deepfool:steps=3", "fmn:steps=5"), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mn.Run, mn.Model, mn.Dataset = r.Run, r.Model, r.Dataset
	validate(t, s, "report with minimal-norm attacks", encode(t, mn))
	cp := corruptionPlan(t, m, src, "fgsm")
	cr, err := corruptionReport(t, cp, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cp.CorruptionBaseline, err = BaselineFor(cr, sha64, cr.Config, cr.Dataset.SHA256Decoded, "truth")
	if err != nil {
		t.Fatal(err)
	}
	cr, err = corruptionReport(t, cp, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cr.Run, cr.Model, cr.Dataset = r.Run, r.Model, r.Dataset
	validate(t, s, "report with corruptions and mCE", encode(t, cr))
	empty := &Report{Schema: Schema, Samples: &Samples{}, Run: r.Run, Model: r.Model, Dataset: r.Dataset, Config: r.Config}
	if err := empty.Reduce(); err != nil {
		t.Fatal(err)
	}
	validate(t, s, "report without samples", encode(t, empty))
	// And the schema rejects a report missing a required key.
	var v map[string]any
	json.Unmarshal(encode(t, r), &v)
	delete(v["clean"].(map[string]any), "accuracy")
	bad, _ := json.Marshal(v)
	doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if s.Validate(doc) == nil {
		t.Error("a report without clean.accuracy passed the schema")
	}
}
