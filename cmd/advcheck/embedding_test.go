package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
	"github.com/advcheck/advcheck/metrics"
)

const embedDir = "../../testdata/golden/embedding/"

func readNpy(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path, npy.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sweep --task embedding on a feature extractor exported by PyTorch (a
// residual network of torchvision's ResNet blocks, no classifier): the
// adversarial images are those testdata/gen_embedding.py recorded from the
// same command, and the cosine similarities the report gives — per sample in
// --samples, and mean, 5th percentile and minimum in the JSON — match
// PyTorch's float64 cosines of the same images within 1e-4. Classification
// figures are null.
func TestEmbeddingAgainstPyTorch(t *testing.T) {
	dir := t.TempDir()
	for _, run := range []struct{ attack, stem string }{
		{"fgsm", "fgsm"}, {"pgd:steps=5", "pgd"}, {"apgd-ce:iters=5", "apgd"}, {"square:queries=20", "square"},
	} {
		report, samples, adv := filepath.Join(dir, run.stem+".json"), filepath.Join(dir, run.stem+".jsonl"), filepath.Join(dir, run.stem)
		code, _, errs := advcheck(t, "sweep", "--model", "../../testdata/models/embed_resnet.onnx",
			"--data", "npy:"+embedDir+"x.npy,"+embedDir+"y.npy", "--task", "embedding", "--attack", run.attack,
			"--eps", "0,8/255", "--batch", "8", "-q", "--json", report, "--samples", samples, "--save-adv", adv)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", run.attack, code, errs)
		}
		name := strings.ReplaceAll(run.attack, ":", "_") + "__linf_eps0.03137254901960784.npy"
		got := readNpy(t, filepath.Join(adv, name)).Float32s()
		want := readNpy(t, embedDir+run.stem+".npy").Float32s()
		maxDiff := 0.0
		for i := range want {
			maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
		}
		if maxDiff > 1e-6 {
			t.Errorf("%s: adversarial images differ from the recorded ones by up to %g", run.attack, maxDiff)
		}
		torchCos := readNpy(t, embedDir+run.stem+"_cos.npy").Float64s()

		f, err := os.Open(samples)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		i := 0
		for sc.Scan() {
			var line struct {
				Index   int `json:"index"`
				Results []struct {
					Eps       float64  `json:"eps"`
					Attacked  bool     `json:"attacked"`
					Success   bool     `json:"success"`
					CosLogits float64  `json:"cos_logits"`
					KL        *float64 `json:"kl"`
				} `json:"results"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			r := line.Results[1]
			if d := math.Abs(r.CosLogits - torchCos[line.Index]); d > 1e-4 || !r.Attacked || r.Success || r.KL != nil {
				t.Errorf("%s sample %d: cosine %v, PyTorch %v (diff %.2g), attacked %v, success %v, kl %v", run.attack, line.Index, r.CosLogits, torchCos[line.Index], d, r.Attacked, r.Success, r.KL)
			}
			i++
		}
		f.Close()
		if i != len(torchCos) {
			t.Fatalf("%s: %d sample lines, want %d", run.attack, i, len(torchCos))
		}

		rep := readJSON(t, report)
		if cfg := rep["config"].(map[string]any); cfg["task"] != "embedding" || cfg["output_loss"] != "cosine" {
			t.Errorf("%s: config task %v, output_loss %v", run.attack, cfg["task"], cfg["output_loss"])
		}
		res := rep["results"].([]any)[1].(map[string]any)
		cos := res["cosine"].(map[string]any)
		out := cos["outputs"].(map[string]any)
		for key, want := range map[string]float64{"mean": metrics.Mean(torchCos), "p5": metrics.Percentile(torchCos, 5), "min": metrics.Min(torchCos)} {
			if d := math.Abs(out[key].(float64) - want); d > 1e-4 {
				t.Errorf("%s: cosine.outputs.%s %v, PyTorch %v", run.attack, key, out[key], want)
			}
		}
		for _, null := range []any{res["accuracy"], res["attack_success_rate"], cos["logits"].(map[string]any)["mean"], res["kl"].(map[string]any)["mean"], rep["clean"].(map[string]any)["accuracy"]} {
			if null != nil {
				t.Errorf("%s: a classification figure is %v, want null", run.attack, null)
			}
		}
		if res["n_attacked"].(float64) != 8 || len(rep["worst_case"].([]any)) != 0 {
			t.Errorf("%s: n_attacked %v, worst_case %v", run.attack, res["n_attacked"], rep["worst_case"])
		}
	}
}

// Attacks and flags that need classes are refused under --task embedding,
// each with the reason (exit 2).
func TestEmbeddingRefusals(t *testing.T) {
	run := []string{"sweep", "--model", "../../testdata/models/embed_resnet.onnx", "--data", "npy:" + embedDir + "x.npy," + embedDir + "y.npy",
		"--task", "embedding", "--eps", "0,8/255", "-q"}
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"--attack", "apgd-dlr"}, "attack apgd-dlr does not apply to task embedding: the dlr loss scores classes"},
		{[]string{"--attack", "pgd:target=random"}, "attack pgd:target=random does not apply to task embedding: target=random needs classes"},
		{[]string{"--attack", "square:loss=ce"}, "does not apply to task embedding: loss=ce scores classes"},
		{[]string{"--attack", "autoattack"}, "attack autoattack does not apply to task embedding: it needs classes"},
		{[]string{"--attack", "fgsm", "--labels", "pred"}, "--labels pred: --task embedding has no class predictions"},
		{[]string{"--attack", "fgsm", "--refine-min-eps", "3"}, "--refine-min-eps: --task embedding has no minimal eps"},
		{[]string{"--attack", "fgsm", "--output-loss", "l1"}, `--output-loss "l1": want cosine or mse`},
		{[]string{"--attack", "fgsm", "--task", "dense"}, `--task "dense": want classification or embedding`},
		{[]string{"--attack", "fgsm", "--task", "classification", "--output-loss", "mse"}, "--output-loss is for --task embedding"},
	} {
		expect(t, 2, c.say, append(run, c.args...)...)
	}
}

// A policy with task: embedding runs sweep --task embedding and gates
// min_cosine on the cosine of the outputs; it refuses requirements that
// need classes, and a report of another task.
func TestGateEmbeddingPolicy(t *testing.T) {
	dir := t.TempDir()
	policy := func(name, task, req string) string {
		p := filepath.Join(dir, name)
		doc := `apiVersion: advcheck/policy/v1
model: ../../testdata/models/embed_resnet.onnx
data: "npy:` + embedDir + `x.npy,` + embedDir + `y.npy"
` + task + `attacks: [fgsm]
eps: {linf: [0, 8/255]}
requirements:
` + req
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	report := filepath.Join(dir, "r.json")
	// PyTorch's mean cosine for FGSM at 8/255 is 0.99816 (fgsm_cos.npy).
	expect(t, 0, "", "gate", "--policy", policy("pass.yaml", "task: embedding\n", "  - min_cosine: 0.998\n    attack: fgsm\n    eps: 8/255\n"), "--json", report, "-q")
	expect(t, 1, "gate failed: 1 of 2 requirements not met: attack/fgsm/0.03137254901960784/min_cosine", "gate", "--policy", policy("fail.yaml", "task: embedding\n", "  - min_cosine: 0.999\n    attack: fgsm\n    eps: 8/255\n"), "-q")
	expect(t, 0, "", "gate", "--policy", policy("pass.yaml", "task: embedding\n", "  - min_cosine: 0.998\n    attack: fgsm\n    eps: 8/255\n"), "--report", report, "-q")
	expect(t, 3, "config.task: the policy gives embedding (output_loss mse), the report has embedding (output_loss cosine)",
		"gate", "--policy", policy("mse.yaml", "task: embedding\noutput_loss: mse\n", "  - min_cosine: 0.5\n    attack: fgsm\n    eps: 8/255\n"), "--report", report, "-q")
	expect(t, 2, "min_accuracy needs classes; a policy of task: embedding takes min_cosine and max_flags",
		"gate", "--policy", policy("acc.yaml", "task: embedding\n", "  - min_accuracy: 0.5\n    attack: fgsm\n    eps: 8/255\n"), "-q")
	expect(t, 2, "output_loss is for task: embedding", "gate", "--policy", policy("loss.yaml", "output_loss: mse\n", "  - max_flags: {error: 0}\n"), "-q")
}

// Under --task embedding the labels are not used: labels beyond the
// model's outputs (ImageNet labels for a 32-dimensional embedding) and an
// image folder with no class sub-folders are read, while a classification
// run still refuses such labels. FGSM, BIM and MI-FGSM start at a random
// point of the eps-ball (the output loss has a zero gradient at the clean
// input): the report's configuration says so (random_start true), and at
// eps > 0 every sample is perturbed and its output moved, never left at
// the clean input as a falsely robust result.
func TestEmbeddingUnlabelledData(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	if err := npy.WriteInt64(&b, []int{8}, []int64{999, 0, 511, 32, 100, 7, 999, 998}); err != nil {
		t.Fatal(err)
	}
	labels := filepath.Join(dir, "imagenet_y.npy")
	if err := os.WriteFile(labels, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	model := "../../testdata/models/embed_resnet.onnx"
	npyData := "npy:" + embedDir + "x.npy," + labels
	expect(t, 3, "label 999 of sample 0 is outside [0, 32)", "sweep", "--model", model, "--data", npyData, "--attack", "fgsm", "--eps", "0,8/255", "-q")

	// A folder of 32×32 images with no class sub-folders.
	flat := filepath.Join(dir, "flat")
	if err := os.MkdirAll(flat, 0o755); err != nil {
		t.Fatal(err)
	}
	x := readNpy(t, embedDir+"x.npy").Float32s()
	for i := 0; i < 3; i++ {
		img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
		for c := 0; c < 3; c++ {
			for p := 0; p < 32*32; p++ {
				img.Pix[p*4+c] = uint8(math.Round(float64(x[i*3*32*32+c*32*32+p]) * 255))
			}
		}
		for p := 0; p < 32*32; p++ {
			img.Pix[p*4+3] = 255
		}
		var enc bytes.Buffer
		if err := png.Encode(&enc, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(flat, fmt.Sprintf("img%d.png", i)), enc.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, 3, "no class sub-folders", "sweep", "--model", model, "--data", "folder:"+flat, "--attack", "fgsm", "--eps", "0,8/255", "-q")

	for _, c := range []struct {
		data    string
		samples float64
	}{{npyData, 8}, {"folder:" + flat, 3}} {
		report, samples := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.jsonl")
		expect(t, 0, "", "sweep", "--model", model, "--data", c.data, "--task", "embedding", "--attack", "fgsm,bim:steps=3,mifgsm:steps=3,pgd:steps=3",
			"--eps", "0,8/255", "--json", report, "--samples", samples, "-q")
		r := readJSON(t, report)
		if n := r["dataset"].(map[string]any)["samples"]; n != c.samples {
			t.Errorf("%s: %v samples, want %v", c.data, n, c.samples)
		}
		for _, a := range r["config"].(map[string]any)["attacks"].([]any) {
			a := a.(map[string]any)
			if rs := a["params"].(map[string]any)["random_start"]; rs != true {
				t.Errorf("%s: config.attacks %s: random_start %v, want true", c.data, a["attack_id"], rs)
			}
		}
		for _, res := range r["results"].([]any) {
			res := res.(map[string]any)
			linf := res["perturbation"].(map[string]any)["linf_mean"].(float64)
			if res["attack"] == "fgsm" && res["eps"].(float64) > 0 && math.Abs(linf-8.0/255) > 1e-6 {
				t.Errorf("%s: fgsm L∞ mean %v, want eps 8/255 on every sample", c.data, linf)
			}
		}
		f, err := os.Open(samples)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		lines := 0
		for sc.Scan() {
			var line struct {
				Index   int `json:"index"`
				Results []struct {
					AttackID  string  `json:"attack_id"`
					Eps       float64 `json:"eps"`
					CosLogits float64 `json:"cos_logits"`
				} `json:"results"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			lines++
			for _, res := range line.Results {
				if res.Eps > 0 && !(res.CosLogits < 1) {
					t.Errorf("%s: sample %d, %s at eps %v: cosine %v, the output did not move", c.data, line.Index, res.AttackID, res.Eps, res.CosLogits)
				}
			}
		}
		f.Close()
		if float64(lines) != c.samples {
			t.Errorf("%s: %d sample lines, want %v", c.data, lines, c.samples)
		}
		if c.data != npyData {
			cm := r["dataset"].(map[string]any)["class_map"].(map[string]any)
			if cm["source"] != "unlabelled" {
				t.Errorf("class_map.source %v, want unlabelled", cm["source"])
			}
		}
	}
}
