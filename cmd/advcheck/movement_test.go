package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
)

// cleanErrors is 8 MNIST test images of which zoo:mnist-cnn misclassifies 4
// (testdata/gen_clean_errors.py).
const cleanErrors = "npy:../../testdata/clean_errors/x.npy,../../testdata/clean_errors/y.npy"

// TestMovementOverAttackedSamples runs the same FGSM sweep with true labels
// (4 of 8 samples attacked: the clean errors are not) and with --labels pred
// (every sample attacked, away from its own prediction: the all-samples
// measure). The tables and Markdown are golden; each report's cosine, KL and
// L1 means are recomputed here from its per-sample outcomes, over the
// samples whose clean prediction matches the label.
func TestMovementOverAttackedSamples(t *testing.T) {
	for _, c := range []struct {
		labels   string
		attacked int
	}{{"truth", 4}, {"pred", 8}} {
		dir := t.TempDir()
		js, md := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md")
		code, out, errs := advcheck(t, "sweep", "--data", cleanErrors, "--labels", c.labels, "--attack", "fgsm", "--eps", "0,0.03,0.1",
			"--json", js, "--md", md, "--progress", "never")
		if code != 0 {
			t.Fatalf("--labels %s: exit %d: %s", c.labels, code, errs)
		}
		golden(t, "sweep-clean-errors-"+c.labels+".table", []byte(out))
		b, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "sweep-clean-errors-"+c.labels+".md", b)

		r := readJSON(t, js)
		s := r["samples"].(map[string]any)
		label, cleanPred := s["label"].([]any), s["clean_pred"].([]any)
		results := r["results"].([]any)
		for k, o := range s["outcomes"].([]any) {
			o := o.(map[string]any)
			res := results[k].(map[string]any)
			var cos, kl, l1, cosAll float64
			n := 0
			for i := range label {
				v := o["cos_logits"].([]any)[i].(float64)
				cosAll += v
				if label[i] == cleanPred[i] {
					cos += v
					kl += o["kl"].([]any)[i].(float64)
					l1 += o["l1"].([]any)[i].(float64)
					n++
				}
			}
			where := fmt.Sprintf("--labels %s, %s at eps %g", c.labels, res["attack_id"], res["eps"])
			if n != c.attacked || int(res["n_attacked"].(float64)) != n {
				t.Errorf("%s: %d samples attacked, n_attacked %v; want %d", where, n, res["n_attacked"], c.attacked)
			}
			cosine := res["cosine"].(map[string]any)["logits"].(map[string]any)["mean"].(float64)
			klMean := res["kl"].(map[string]any)["mean"].(float64)
			if math.Abs(cosine-cos/float64(n)) > 1e-6 || math.Abs(klMean-kl/float64(n)) > 1e-6 {
				t.Errorf("%s: cosine %v, KL %v; the attacked samples give %v, %v", where, cosine, klMean, cos/float64(n), kl/float64(n))
			}
			if l1Mean := res["perturbation"].(map[string]any)["l1_mean"].(float64); math.Abs(l1Mean-l1/float64(n)) > 1e-6*math.Max(1, l1Mean) {
				t.Errorf("%s: l1_mean %v; the attacked samples give %v", where, l1Mean, l1/float64(n))
			}
			// With true labels the unattacked clean errors (cosine 1) must not
			// count: the all-samples mean is higher wherever an attack moved
			// the outputs.
			if c.labels == "truth" && cosine < 1 && math.Abs(cosine-cosAll/float64(len(label))) < 1e-6 {
				t.Errorf("%s: cosine %v is the mean over all %d samples", where, cosine, len(label))
			}
		}
	}
}

// TestGateWithNoAttackedSample: the second half of the clean-errors data is
// the four images the model misclassifies, so nothing is attacked. The cosine
// and KL are null with a flag, and a min_cosine requirement that any number
// would meet fails, saying why. (The half is a data set of its own: a gate
// refuses the report of a shard, which is not the policy's whole data set.)
func TestGateWithNoAttackedSample(t *testing.T) {
	dir := t.TempDir()
	rep, gated, policy := filepath.Join(dir, "r.json"), filepath.Join(dir, "g.json"), filepath.Join(dir, "p.yaml")
	x, err := npy.ReadFile("../../testdata/clean_errors/x.npy", npy.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	y, err := npy.ReadFile("../../testdata/clean_errors/y.npy", npy.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var xb, yb bytes.Buffer
	if err := npy.WriteUint8(&xb, []int{4, 28, 28}, x.U8[4*784:]); err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteInt64(&yb, []int{4}, y.I64[4:]); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "x.npy"), xb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "y.npy"), yb.Bytes(), 0o644)
	errorsOnly := "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y.npy")
	code, _, errs := advcheck(t, "sweep", "--data", errorsOnly, "--attack", "fgsm", "--eps", "0,0.03", "--json", rep, "-q")
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	os.WriteFile(policy, []byte(`apiVersion: advcheck/policy/v1
model: zoo:mnist-cnn
data: "`+errorsOnly+`"
attacks: [fgsm]
eps: {linf: [0, 0.03]}
requirements:
  - min_cosine: -1
    attack: fgsm
    eps: 0.03
`), 0o644)
	code, out, errs := advcheck(t, "gate", "--policy", policy, "--report", rep, "--json", gated)
	if code != 1 || !strings.Contains(errs, "attack/fgsm/0.03/min_cosine") || !strings.Contains(out, "no sample was attacked") {
		t.Fatalf("exit %d, stderr %q; want exit 1 and the reason in the table:\n%s", code, errs, out)
	}
	r := readJSON(t, gated)
	res := r["results"].([]any)[1].(map[string]any)
	if res["n_attacked"].(float64) != 0 || res["cosine"].(map[string]any)["logits"].(map[string]any)["mean"] != nil || res["kl"].(map[string]any)["mean"] != nil {
		t.Errorf("with no sample attacked: n_attacked %v, cosine %v, kl %v; want 0 and nulls", res["n_attacked"], res["cosine"], res["kl"])
	}
	flagged := false
	for _, f := range r["flags"].([]any) {
		m := f.(map[string]any)["message"].(string)
		flagged = flagged || strings.Contains(m, "fgsm at eps 0.03") && strings.Contains(m, "no sample was attacked")
	}
	if !flagged {
		t.Errorf("no flag explains the null cosine: %v", r["flags"])
	}
}
