package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/datasets"
)

// Files written by testdata/gen_resize.py: 8 JPEGs and PNGs from 150×200 to
// 900×700 in two class folders, torchvision's pixels of them after
// Resize(256) + CenterCrop(224) (golden.npz, uint8, with the labels), and
// gap224.onnx, a colour model on 3×224×224 inputs.
const resizeData = "../../testdata/resize/"

var resizeSweep = []string{"sweep", "--model", resizeData + "gap224.onnx", "--data", "folder:" + resizeData + "imgs",
	"--attack", "fgsm", "--eps", "0,1/255", "--batch", "4", "-q"}

// TestSweepResizeCenterCrop attacks the folder of varied-size images with
// the ImageNet preprocessing: the report records it, and the decoded pixels
// are torchvision's exactly (their hash is the hash of the golden pixels).
func TestSweepResizeCenterCrop(t *testing.T) {
	if datasets.JPEGDecoder == datasets.GoJPEGDecoder {
		t.Skip("needs the libjpeg build tag: Go's JPEG decoder does not decode as PIL does")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	code, _, errs := advcheck(t, append(resizeSweep, "--resize", "256", "--center-crop", "224", "--json", out)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := readJSON(t, out)
	ds := r["dataset"].(map[string]any)
	pp, _ := ds["preprocess"].(map[string]any)
	if pp["resize"] != 256.0 || pp["filter"] != datasets.ResizeFilter {
		t.Errorf("dataset.preprocess %v", pp)
	}
	if c, _ := pp["center_crop"].([]any); len(c) != 2 || c[0] != 224.0 || c[1] != 224.0 {
		t.Errorf("dataset.preprocess.center_crop %v", pp["center_crop"])
	}
	if s := ds["shape"].([]any); s[0] != 3.0 || s[1] != 224.0 || s[2] != 224.0 || ds["total"] != 8.0 {
		t.Errorf("shape %v, total %v; want [3 224 224] and 8", s, ds["total"])
	}
	// The same pixels and labels as PIL made them, read from the golden.
	g := sweepGolden(t, filepath.Join(dir, "g.json"))
	if ds["sha256_decoded"] != g["dataset"].(map[string]any)["sha256_decoded"] {
		t.Errorf("sha256_decoded %v differs from the hash of torchvision's pixels %v", ds["sha256_decoded"], g["dataset"].(map[string]any)["sha256_decoded"])
	}
	// Blue-tinted images are class 0, red-tinted class 1; the gray image
	// (in red/) has equal R and B means, so both logits are 0 and the
	// first class wins: 7 of 8 correct.
	clean := r["clean"].(map[string]any)
	if clean["n"] != 8.0 || clean["n_correct"] != 7.0 {
		t.Errorf("clean %v; want 7 of 8 correct", clean)
	}
	if res := r["results"].([]any); len(res) != 2 {
		t.Errorf("%d result rows, want fgsm at 2 radii", len(res))
	}
}

func sweepGolden(t *testing.T, path string) map[string]any {
	t.Helper()
	args := append([]string{}, resizeSweep...)
	args[4] = "npz:" + resizeData + "golden.npz"
	code, _, errs := advcheck(t, append(args, "--json", path)...)
	if code != 0 {
		t.Fatalf("golden: exit %d: %s", code, errs)
	}
	return readJSON(t, path)
}

// TestResizeRefused: bad sizes and preprocessing of data that are not an
// image folder are usage errors (exit 2); a crop larger than a resized image,
// a resize over the limits and images whose sizes still differ after the
// preprocessing are bad data (exit 3) naming the image. One line each.
func TestResizeRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"--resize", "0"}, 2, "--resize 0: want 1 to 32768"},
		{[]string{"--resize", "-5"}, 2, "--resize -5"},
		{[]string{"--resize", "100000"}, 2, "--resize 100000"},
		{[]string{"--center-crop", "0"}, 2, `--center-crop "0"`},
		{[]string{"--center-crop", "224,224,3"}, 2, "want H or H,W"},
		{[]string{"--center-crop", "big"}, 2, "want H or H,W"},
		{[]string{"--resize", "256", "--data", "mnist-sample"}, 2, "apply only to folder:DIR data"},
		{[]string{"--resize", "256", "--center-crop", "300"}, 3, "a_512x384.jpg is 341×256 (512×384 before --resize 256), smaller than the 300×300 centre crop"},
		{[]string{"--resize", "30000", "--center-crop", "224"}, 3, "a_512x384.jpg: 512×384 resized to 40000×30000 is over the limit"},
		{[]string{"--resize", "256"}, 3, "a_512x384.jpg is 341×256 (512×384 before --resize 256), the model takes 224×224 after --resize/--center-crop"},
		{nil, 3, "a_512x384.jpg is 512×384, the model takes 224×224 (advcheck does not resize images without --resize)"},
	} {
		code, _, errs := advcheck(t, append(append([]string{}, resizeSweep...), c.args...)...)
		if code != c.code || !strings.Contains(errs, c.say) || strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, one line saying %q", c.args, code, errs, c.code, c.say)
		}
	}
}

// The preprocessing travels with the report: a gate policy gives it as
// data.resize and data.center_crop, verify re-decodes the folder with the
// report's preprocessing to check its hash, and the HTML report states it.
func TestResizeGateVerifyHTML(t *testing.T) {
	tmp := t.TempDir()
	model, imgs := resizeData+"gap224.onnx", resizeData+"imgs"
	policy := filepath.Join(tmp, "policy.yaml")
	os.WriteFile(policy, []byte(`apiVersion: advcheck/policy/v1
model: {path: `+model+`}
data: {spec: "folder:`+imgs+`", resize: 256, center_crop: [224, 224]}
attacks: [fgsm]
eps: {linf: [0]}
requirements:
  - min_clean_accuracy: 0.75
`), 0o644)
	gated := filepath.Join(tmp, "gate.json")
	if code, out, errs := advcheck(t, "gate", "--policy", policy, "--progress", "never", "--json", gated); code != 0 {
		t.Fatalf("gate: exit %d: %s %s", code, out, errs)
	}
	if pp, _ := readJSON(t, gated)["dataset"].(map[string]any)["preprocess"].(map[string]any); pp["resize"] != 256.0 {
		t.Errorf("the gate's sweep recorded preprocess %v", pp)
	}

	key, rep, html := filepath.Join(tmp, "k"), filepath.Join(tmp, "r.json"), filepath.Join(tmp, "r.html")
	if code, _, errs := advcheck(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	if code, _, errs := advcheck(t, append(resizeSweep, "--resize", "256", "--center-crop", "224", "--json", rep, "--html", html)...); code != 0 {
		t.Fatalf("sweep: %d %s", code, errs)
	}
	if code, _, errs := advcheck(t, "sign", rep, "--key", key+".key"); code != 0 {
		t.Fatalf("sign: %d %s", code, errs)
	}
	if code, out, errs := advcheck(t, "verify", rep, "--pub", key+".pub", "--data", "folder:"+imgs); code != 0 || !strings.Contains(out, "data OK") {
		t.Errorf("verify: exit %d: %s %s", code, out, errs)
	}
	if want := "shorter side resized to 256 px (" + datasets.ResizeFilter + "), then centre crop 224×224 px"; !strings.Contains(mustRead(t, html), want) {
		t.Errorf("the HTML report does not say %q", want)
	}
}
