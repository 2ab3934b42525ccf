package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/advcheck/advcheck/reports"
)

// TestSweepL1Mean: a sweep of the zoo CNN on real MNIST images with an L1
// attack (APGD-L1) and an L∞ one (FGSM) states every row's
// perturbation.l1_mean. Each sample's L1 norm is recomputed here from the
// adversarial examples --save-adv wrote (eps 0 gives the clean images), and
// l1_mean is their mean over the attacked samples: within the L1 ball, and
// positive, for the L1 attack; at most 784·eps for the L∞ one. --samples
// carries the same per-sample norms.
func TestSweepL1Mean(t *testing.T) {
	dir := t.TempDir()
	js, adv, jsonl := filepath.Join(dir, "r.json"), filepath.Join(dir, "adv"), filepath.Join(dir, "s.jsonl")
	code, _, errs := advcheck(t, "sweep", "--limit", "16", "--batch", "8", "--attack", "apgd-ce:norm=l1,iters=10", "--attack", "fgsm",
		"--eps", "l1=0,5 linf=0,0.1", "--json", js, "--save-adv", adv, "--samples", jsonl, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	type sampleLine struct {
		Results []struct {
			L1 *float64 `json:"l1"`
		} `json:"results"`
	}
	var lines []sampleLine
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var line sampleLine
		if err := json.Unmarshal(l, &line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	r := readJSON(t, js)
	s := r["samples"].(map[string]any)
	label, cleanPred := s["label"].([]any), s["clean_pred"].([]any)
	results := r["results"].([]any)
	outcomes := s["outcomes"].([]any)
	if len(outcomes) != 4 {
		t.Fatalf("%d outcome sets, want 4", len(outcomes))
	}
	for k, o := range outcomes {
		o := o.(map[string]any)
		id, norm, eps := o["attack_id"].(string), o["norm"].(string), o["eps"].(float64)
		where := fmt.Sprintf("%s at %s eps %g", id, norm, eps)
		clean := readNpy(t, filepath.Join(adv, reports.AdvFileName(id, norm, 0))).Float32s()
		x := readNpy(t, filepath.Join(adv, reports.AdvFileName(id, norm, eps))).Float32s()
		size := len(x) / len(label)
		sum, n := 0.0, 0
		for i := range label {
			l1 := 0.0
			for q := i * size; q < (i+1)*size; q++ {
				l1 += math.Abs(float64(x[q]) - float64(clean[q]))
			}
			stored := o["l1"].([]any)[i].(float64)
			if math.Abs(stored-l1) > 1e-6*math.Max(1, l1) {
				t.Errorf("%s: sample %d has l1 %v, its adversarial example %v", where, i, stored, l1)
			}
			if got := lines[i].Results[k].L1; got == nil || *got != stored {
				t.Errorf("%s: sample %d has l1 %v in --samples, %v in the report", where, i, got, stored)
			}
			if label[i] == cleanPred[i] {
				sum, n = sum+l1, n+1
			}
		}
		p := results[k].(map[string]any)["perturbation"].(map[string]any)
		got, ok := p["l1_mean"].(float64)
		if !ok || n == 0 || math.Abs(got-sum/float64(n)) > 1e-6*math.Max(1, got) {
			t.Fatalf("%s: l1_mean %v, the %d attacked samples' adversarial examples %v", where, p["l1_mean"], n, sum/float64(n))
		}
		limit := eps
		if norm == "linf" {
			limit = float64(size) * eps
		}
		if got > limit*(1+1e-6) || (eps > 0) != (got > 0) {
			t.Errorf("%s: l1_mean %v, want in (0, %v] (0 at eps 0)", where, got, limit)
		}
		t.Logf("%s: l1_mean %.4g over %d attacked samples", where, got, n)
	}
}
