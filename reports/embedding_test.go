package reports

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/models"
)

func embeddingPlan(t *testing.T, m models.Model, src Source, batch int, shard Shard) *Plan {
	p := plan(t, m, src, "fgsm", "pgd:steps=3", "pgd:steps=3,norm=l2", "square:queries=15")
	p.Task, p.OutputLoss, p.Checks, p.Examples, p.Batch, p.Shard = TaskEmbedding, models.OutputCosine, false, 0, batch, shard
	return p
}

// An embedding task: every sample is attacked, the report's cosine.outputs
// is the spread of the per-sample cosines of clean and adversarial outputs,
// classification figures are null, the
// report follows the schema, and it is the same whatever the batch size,
// and when merged from shards, as a classification report is.
func TestEmbeddingReport(t *testing.T) {
	ctx := context.Background()
	m, src := fixture(t, 11)
	r, err := newReport(t, embeddingPlan(t, m, src, 7, Shard{0, 1}), ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Config.Task != TaskEmbedding || r.Config.OutputLoss != "cosine" || r.Clean.Accuracy.Valid() || len(r.WorstCase) != 0 || len(r.Summary.AUC) != 0 {
		t.Fatalf("config %+v, clean %+v, worst case %v, auc %v", r.Config, r.Clean, r.WorstCase, r.Summary.AUC)
	}
	for oi, res := range r.Results {
		if res.NAttacked != 11 || res.Accuracy.Valid() || res.AttackSuccessRate.Valid() || res.KL.Mean.Valid() || res.Cosine.Logits.Mean.Valid() || res.Cosine.Outputs == nil {
			t.Fatalf("%s at eps %g: %+v", res.AttackID, res.Eps, res)
		}
		if res.Eps == 0 {
			if res.Cosine.Outputs.Min != 1 {
				t.Errorf("%s at eps 0: cosine min %v, want 1", res.AttackID, res.Cosine.Outputs.Min)
			}
			continue
		}
		if !(res.Cosine.Outputs.Mean < 1) {
			t.Errorf("%s at eps %g: outputs did not move (cosine %v)", res.AttackID, res.Eps, res.Cosine.Outputs.Mean)
		}
		// The spread reduces the per-sample cosines (the cmd tests compare
		// those with PyTorch's).
		var cos []float64
		for _, v := range r.Samples.Outcomes[oi].CosLogits {
			cos = append(cos, float64(v))
		}
		if got, want := float64(res.Cosine.Outputs.Mean), metrics.Mean(cos); math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: mean %v, want %v", res.AttackID, got, want)
		}
	}
	withMeta := *r
	withMeta.Run = RunOf(timeZero, []string{"advcheck", "sweep"})
	withMeta.Model = ModelOf("testdata/models/view_chain.onnx", m)
	withMeta.Model.SHA256, withMeta.Dataset.SHA256Decoded = sha64, sha64
	validate(t, compileSchema(t), "embedding report", encode(t, &withMeta))

	b, err := newReport(t, embeddingPlan(t, m, src, 4, Shard{0, 1}), ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Config.Batch = r.Config.Batch
	if !bytes.Equal(encode(t, r), encode(t, b)) {
		t.Error("embedding reports differ between batch sizes")
	}
	var parts []*Report
	for i := 0; i < 2; i++ {
		p, err := newReport(t, embeddingPlan(t, m, src, 7, Shard{i, 2}), ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Read(bytes.NewReader(encode(t, p)), 0)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, back)
	}
	merged, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, r), encode(t, merged)) {
		t.Error("merged embedding report differs from the unsharded one")
	}
	// Plans that need classes are refused before anything runs.
	for _, edit := range []func(*Plan){
		func(p *Plan) { p.Checks = true },
		func(p *Plan) { p.LabelSource = "pred" },
		func(p *Plan) { p.OutputLoss = models.CrossEntropy },
		func(p *Plan) { p.Attacks = plan(t, m, src, "apgd-dlr").Attacks },
	} {
		p := embeddingPlan(t, m, src, 7, Shard{0, 1})
		edit(p)
		if err := p.Validate(); err == nil {
			t.Errorf("plan %+v accepted", p)
		}
	}
}
