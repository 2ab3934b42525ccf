package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// movementReport is one FGSM run at eps 0.03 over 8 samples, built by hand.
// cleanPred[i] != label[i] marks a clean error: such a sample is not attacked
// and keeps its clean output (cosine 1, KL 0, no perturbation), as the engine
// fills it.
func movementReport(cleanPred []int, cosLogits, cosProbs, kl []F32, pred []int) *Report {
	n := len(cleanPred)
	s := &Samples{Label: make([]int, n), CleanPred: cleanPred}
	o := Outcomes{AttackID: "fgsm", Norm: "linf", Eps: 0.03, Pred: pred, CosLogits: cosLogits, CosProbs: cosProbs, KL: kl,
		Linf: make([]F32, n), L2: make([]F32, n), L1: make([]F32, n), Queries: make([]int, n)}
	for i := 0; i < n; i++ {
		s.Index = append(s.Index, i)
		s.Label[i] = i % 10
		if cleanPred[i] == s.Label[i] {
			o.Linf[i], o.L2[i], o.L1[i], o.Queries[i] = 0.03125, 0.5, F32(i+1)/4, 1
		}
	}
	s.Outcomes = []Outcomes{o}
	return &Report{Schema: Schema, Complete: true, Samples: s, Config: Config{
		Attacks: []AttackConfig{{AttackID: "fgsm", Name: "fgsm", Norm: "linf"}},
		Eps:     []EpsConfig{{Norm: "linf", Requested: "0.03", Value: 0.03}},
	}}
}

func near(got Num, want float64) bool { return math.Abs(float64(got)-want) <= 1e-12 }

// TestMovementOverAttackedSamples: with 4 of 8 samples misclassified, the
// cosine and KL figures are those of the 4 attacked samples (one of them an
// attack that failed, which counts), not diluted by the 4 unattacked ones.
func TestMovementOverAttackedSamples(t *testing.T) {
	// Samples 1, 3, 5 and 7 are clean errors; 0, 2, 4 and 6 are attacked.
	// Sample 4 resists the attack (pred = label) and still counts.
	cleanPred := []int{0, 9, 2, 9, 4, 9, 6, 9}
	pred := []int{0, 9, 3, 9, 4, 9, 1, 9}
	cosLogits := []F32{0.875, 1, 0.75, 1, 1, 1, 0.5, 1}
	cosProbs := []F32{0.9375, 1, 0.5, 1, 0.75, 1, 0.625, 1}
	kl := []F32{0.25, 0, 0.5, 0, 0, 0, 1.5, 0}
	r := movementReport(cleanPred, cosLogits, cosProbs, kl, pred)
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	res := r.Results[0]
	if res.N != 8 || res.NAttacked != 4 || res.NSuccess != 2 {
		t.Fatalf("n %d, attacked %d, success %d; want 8, 4, 2", res.N, res.NAttacked, res.NSuccess)
	}
	// By hand, over the attacked samples (NumPy's linear percentile: the
	// 5th percentile of 4 sorted values sits at rank 3·0.05 = 0.15, the 95th
	// at rank 3·0.95 = 2.85):
	//   logits cos {0.875, 0.75, 1, 0.5}: mean 3.125/4, p5 0.5 + 0.15·0.25, min 0.5
	//   probs cos {0.9375, 0.5, 0.75, 0.625}: mean 2.8125/4, p5 0.5 + 0.15·0.125, min 0.5
	//   KL {0.25, 0.5, 0, 1.5}: mean 2.25/4, p95 0.5 + 0.85·1
	//   L1 {0.25, 0.75, 1.25, 1.75} (sample i's is (i+1)/4): mean 4/4
	// Over all 8 the logits mean would be 7.125/8 = 0.890625, the KL mean
	// 0.28125 and the L1 mean 0.5.
	if res.Perturbation.L1Mean == nil {
		t.Fatal("perturbation.l1_mean is absent")
	}
	for _, c := range []struct {
		name string
		got  Num
		want float64
	}{
		{"cosine.logits.mean", res.Cosine.Logits.Mean, 0.78125},
		{"cosine.logits.p5", res.Cosine.Logits.P5, 0.5375},
		{"cosine.logits.min", res.Cosine.Logits.Min, 0.5},
		{"cosine.probs.mean", res.Cosine.Probs.Mean, 0.703125},
		{"cosine.probs.p5", res.Cosine.Probs.P5, 0.51875},
		{"cosine.probs.min", res.Cosine.Probs.Min, 0.5},
		{"kl.mean", res.KL.Mean, 0.5625},
		{"kl.p95", res.KL.P95, 1.35},
		{"perturbation.linf_mean", res.Perturbation.LinfMean, 0.03125},
		{"perturbation.l2_mean", res.Perturbation.L2Mean, 0.5},
		{"perturbation.l1_mean", *res.Perturbation.L1Mean, 1},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, float64(c.got), c.want)
		}
	}
	// The gate reads the same figures: a mean cosine of 0.78 fails ≥ 0.8,
	// which the diluted 0.89 would have passed.
	reqs := []Requirement{
		{Kind: "min_cosine", Threshold: 0.8, Attack: "fgsm", Eps: 0.03, HasEps: true, Use: "mean"},
		{Kind: "max_kl", Threshold: 0.5, Attack: "fgsm", Eps: 0.03, HasEps: true, Use: "mean"},
	}
	if err := r.ApplyRequirements(reqs, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Gate.Checks[1:] {
		if c.Passed {
			t.Errorf("%s passed with %s, want a failure", c.ID, c.Got)
		}
	}
}

// TestMovementWithNoAttackedSample: when every sample is a clean error no
// sample is attacked, so the movement figures are null (never cosine 1),
// a flag says why, the report still encodes, and a gate on them fails with
// the reason.
func TestMovementWithNoAttackedSample(t *testing.T) {
	ones := []F32{1, 1, 1, 1}
	zeros := []F32{0, 0, 0, 0}
	wrong := []int{5, 5, 5, 5}
	r := movementReport(wrong, ones, ones, zeros, wrong)
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	res := r.Results[0]
	if res.NAttacked != 0 {
		t.Fatalf("n_attacked %d, want 0", res.NAttacked)
	}
	for name, v := range map[string]Num{
		"cosine.logits.mean": res.Cosine.Logits.Mean, "cosine.logits.p5": res.Cosine.Logits.P5, "cosine.logits.min": res.Cosine.Logits.Min,
		"cosine.probs.mean": res.Cosine.Probs.Mean, "kl.mean": res.KL.Mean, "kl.p95": res.KL.P95,
		"attack_success_rate": res.AttackSuccessRate, "perturbation.linf_max": res.Perturbation.LinfMax,
		"perturbation.l1_mean": *res.Perturbation.L1Mean,
	} {
		if v.Valid() {
			t.Errorf("%s = %v, want null", name, float64(v))
		}
	}
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			Cosine struct{ Logits map[string]any } `json:"cosine"`
			KL     map[string]any                  `json:"kl"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if v := doc.Results[0].Cosine.Logits["mean"]; v != nil {
		t.Errorf("cosine.logits.mean encodes as %v, want null", v)
	}
	if v := doc.Results[0].KL["mean"]; v != nil {
		t.Errorf("kl.mean encodes as %v, want null", v)
	}
	// The nulls follow the schema once the provenance is filled in.
	r.Run = RunOf(timeZero, []string{"advcheck", "sweep"})
	r.Model = Model{Path: "m.onnx", SHA256: sha64, Inputs: []TensorInfo{}, Outputs: []TensorInfo{}, OutputKind: "logits", InputContract: InputContract{Layout: "nchw", Bounds: [2]float64{0, 1}, Scale: 1}}
	r.Dataset = Dataset{Spec: "mnist-sample", SHA256Decoded: sha64, Samples: 4, LabelSource: "truth"}
	r.Config.Batch, r.Config.Shard, r.Config.Attacks[0].Params = 4, Shard{0, 1}, map[string]any{}
	validate(t, compileSchema(t), "report with no sample attacked", encode(t, r))
	flagged := false
	for _, f := range r.Flags {
		flagged = flagged || (f.ID == "null_metric" && strings.Contains(f.Message, "fgsm at eps 0.03") && strings.Contains(f.Message, "no sample was attacked"))
	}
	if !flagged {
		t.Errorf("no null_metric flag explains the null cosine: %+v", r.Flags)
	}
	reqs := []Requirement{
		{Kind: "min_cosine", Threshold: -1, Attack: "fgsm", Eps: 0.03, HasEps: true, Use: "p5"},
		{Kind: "max_kl", Threshold: 100, Attack: "fgsm", Eps: 0.03, HasEps: true, Use: "p95"},
	}
	if err := r.ApplyRequirements(reqs, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Gate.Checks[1:] {
		if c.Passed || !strings.Contains(c.Got, "no sample was attacked") {
			t.Errorf("%s: passed %v, got %q; want a failure that says no sample was attacked", c.ID, c.Passed, c.Got)
		}
	}
	if r.Gate.Passed {
		t.Error("the gate passed on null figures")
	}
}

// TestL1MeanOfEarlierReports: outcome sets without per-sample L1 norms (a
// report written before they were recorded) reduce without l1_mean, encode
// without the key and verify; with the norms the key is there, null when no
// sample was attacked.
func TestL1MeanOfEarlierReports(t *testing.T) {
	cleanPred := []int{0, 9, 2, 9}
	ones, zeros := []F32{1, 1, 1, 1}, []F32{0, 0, 0, 0}
	r := movementReport(cleanPred, ones, ones, zeros, []int{0, 9, 3, 9})
	r.Samples.Outcomes[0].L1 = nil
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	if p := r.Results[0].Perturbation; p.L1Mean != nil || !near(p.L2Mean, 0.5) {
		t.Errorf("without L1 norms: l1_mean %v, l2_mean %v; want absent, 0.5", p.L1Mean, p.L2Mean)
	}
	r.Config.Shard, r.Dataset.Total = Shard{0, 1}, 4
	b := encode(t, r)
	if bytes.Contains(b, []byte("l1")) {
		t.Errorf("the report without L1 norms mentions l1:\n%s", b)
	}
	if err := r.Verify(); err != nil {
		t.Errorf("the report without L1 norms does not verify: %v", err)
	}
	// The same report with the norms states l1_mean; with none attacked, null.
	wrong := []int{5, 5, 5, 5}
	r = movementReport(wrong, ones, ones, zeros, wrong)
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(encode(t, r), []byte(`"l1_mean": null`)) {
		t.Errorf("with no sample attacked l1_mean is not null:\n%s", encode(t, r))
	}
}
