package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gate --model gates another model with the same policy: the verdict follows
// the model named on the command line, a sha256 pin in the policy still
// binds it, and a --report must be about that model.
func TestGateModelFlag(t *testing.T) {
	dir := t.TempDir()
	policy := "../../testdata/policies/fgsm-small.yaml" // model: zoo:mnist-cnn-adv, which passes
	adv := filepath.Join(dir, "adv.json")
	if code, out, errs := advcheck(t, "gate", "--policy", policy, "--json", adv, "-q"); code != 0 {
		t.Fatalf("policy's own model: exit %d\n%s\n%s", code, out, errs)
	}
	plain := filepath.Join(dir, "plain.json")
	code, _, errs := advcheck(t, "gate", "--policy", policy, "--model", "zoo:mnist-cnn", "--json", plain, "-q")
	if code != 1 || !strings.Contains(errs, "attack/fgsm/0.3/min_accuracy") {
		t.Fatalf("--model zoo:mnist-cnn: exit %d, want 1 naming attack/fgsm/0.3/min_accuracy\n%s", code, errs)
	}
	if r := readJSON(t, plain); r["model"].(map[string]any)["path"] != "zoo:mnist-cnn" {
		t.Errorf("report model.path = %v, want zoo:mnist-cnn", r["model"].(map[string]any)["path"])
	}
	// The report of the policy's own model is not a report about --model.
	if code, _, errs := advcheck(t, "gate", "--policy", policy, "--model", "zoo:mnist-cnn", "--report", adv, "-q"); code != 3 || !strings.Contains(errs, "model") {
		t.Errorf("--model with another model's --report: exit %d %s", code, errs)
	}
	if code, _, errs := advcheck(t, "gate", "--policy", policy, "--model", "zoo:mnist-cnn", "--report", plain, "-q"); code != 1 {
		t.Errorf("--model with its own --report: exit %d %s", code, errs)
	}
	// A pin in the policy refuses any other model, whatever --model says.
	sha := readJSON(t, adv)["model"].(map[string]any)["sha256"].(string)
	pinned := filepath.Join(dir, "pinned.yaml")
	os.WriteFile(pinned, []byte(strings.Replace(mustRead(t, policy), "path: zoo:mnist-cnn-adv", "path: zoo:mnist-cnn-adv\n  sha256: "+sha, 1)), 0o644)
	if code, _, errs := advcheck(t, "gate", "--policy", pinned, "-q"); code != 0 {
		t.Fatalf("pinned policy, its own model: exit %d %s", code, errs)
	}
	if code, _, errs := advcheck(t, "gate", "--policy", pinned, "--model", "zoo:mnist-cnn", "-q"); code != 3 || !strings.Contains(errs, sha[:12]) {
		t.Errorf("pinned policy, --model zoo:mnist-cnn: exit %d %s", code, errs)
	}
}
