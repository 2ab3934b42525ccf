package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dynModel = "../../testdata/models/dyn_hw_paddle.onnx"

var dynData = "npy:../../testdata/golden/dynamic/x_20x28.npy,../../testdata/golden/dynamic/y_20x28.npy"

// A model with dynamic height and width runs with --input-shape; without it
// the error says which flag to give and what the file's metadata says. The
// report records the shape, a policy gives it as model.input_shape, and a
// gate on a report made at another shape is refused.
func TestSweepInputShape(t *testing.T) {
	dir := t.TempDir()
	run := []string{"sweep", "--model", dynModel, "--data", dynData, "--attack", "fgsm", "--eps", "0,8/255", "-q"}
	expect(t, 2, `give the per-sample shape (C,H,W) with --input-shape 3,H,W (a policy: model.input_shape); the model's metadata says image_shape="3,32,32"`, run...)
	expect(t, 2, `input_shape 3,32,32,1 has 4 sizes, but input "x" has 3 dimensions besides the batch ([N, 3, DynamicDimension, DynamicDimension])`, append(run, "--input-shape", "3,32,32,1")...)
	expect(t, 2, `input_shape 1,20,28: size 1 of input "x" is fixed at 3 by the model, not 1`, append(run, "--input-shape", "1,20,28")...)
	expect(t, 2, `--input-shape "3,20,0": "0" is not a size`, append(run, "--input-shape", "3,20,0")...)
	// The data's 20×28 images do not fit a 32×32 input.
	code, _, errs := advcheck(t, append(run, "--input-shape", "3,32,32")...)
	if code != 3 || !strings.Contains(errs, "samples are [3 20 28], the model takes [3 32 32]") {
		t.Errorf("data of another size: exit %d, %s", code, errs)
	}

	report := filepath.Join(dir, "r.json")
	code, _, errs = advcheck(t, append(run, "--input-shape", "3,20,28", "--json", report)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := readJSON(t, report)
	m := r["model"].(map[string]any)
	if got := fmt.Sprint(m["input_contract"].(map[string]any)["input_shape"]); got != "[3 20 28]" {
		t.Errorf("input_contract.input_shape %s", got)
	}
	if got := fmt.Sprint(m["inputs"]); got != "[map[name:x shape:[-1 3 20 28]]]" {
		t.Errorf("model.inputs %s", got)
	}

	policy := func(shape string) string {
		p := filepath.Join(dir, "p.yaml")
		doc := fmt.Sprintf(`apiVersion: advcheck/policy/v1
model:
  path: %s
  input_shape: %s
data: %q
attacks: [fgsm]
eps: {linf: [0, 8/255]}
requirements:
  - min_clean_accuracy: 0
`, dynModel, shape, dynData)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	expect(t, 0, "", "gate", "--policy", policy("[3, 20, 28]"), "--report", report, "-q")
	expect(t, 0, "", "gate", "--policy", policy("[3, 20, 28]"), "-q")
	expect(t, 3, "model.input_contract.input_shape: the policy gives [3, 20, 24], the report has [3, 20, 28]", "gate", "--policy", policy("[3, 20, 24]"), "--report", report, "-q")
	expect(t, 2, `line 4, column 20: want an integer ≥ 1, got "0"`, "gate", "--policy", policy("[3, 0, 28]"), "-q")
}
