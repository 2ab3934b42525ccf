package reports

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/attacks/corruption"
	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/models"
)

// noiseCorruption stands in for a corruption of package attacks/corruption:
// additive uniform noise of amplitude 0.15·severity, clipped to [0, 1],
// seeded by (seed, name, severity, index) alone.
type noiseCorruption struct{ name string }

func (c noiseCorruption) Name() string           { return c.name }
func (c noiseCorruption) Params() map[string]any { return map[string]any{"amplitude": 0.15} }
func (c noiseCorruption) Corrupt(dst, x []float32, shape []int, severity int, seed uint64, index int) error {
	h := fnv.New64a()
	h.Write([]byte(c.name))
	rng := rand.New(rand.NewPCG(seed^h.Sum64(), uint64(index)<<3|uint64(severity)))
	for i, v := range x {
		dst[i] = float32(math.Min(math.Max(float64(v)+0.15*float64(severity)*(2*rng.Float64()-1), 0), 1))
	}
	return nil
}

func corruptionPlan(t testing.TB, m models.Model, src Source, specs ...string) *Plan {
	p := plan(t, m, src, specs...)
	p.Corruptions = []Corruption{noiseCorruption{"noise_a"}, noiseCorruption{"noise_b"}}
	p.Severities = []int{1, 3, 5}
	return p
}

// corruptionReport runs a plan as Evaluate does, keeping the example grid.
func corruptionReport(t testing.TB, p *Plan, ctx context.Context, resume *Report) (*Report, error) {
	r := &Report{Schema: Schema, Dataset: Dataset{Total: p.Data.Len(), LabelSource: p.LabelSource, SHA256Decoded: strings.Repeat("ab", 32)}}
	r.Config = ConfigOf(p)
	r.Model.Outputs = []TensorInfo{{Name: "logits", Shape: []int{-1, 10}}}
	var done *Samples
	if resume != nil {
		done = resume.Samples
		r.Examples, r.CorruptionExamples = resume.Examples, resume.CorruptionExamples
	}
	s, err := p.execute(ctx, done, &r.Examples, &r.CorruptionExamples)
	r.Samples = s
	lo, hi := p.Shard.Range(p.Data.Len())
	r.Complete = err == nil && len(s.Index) == hi-lo
	if rerr := r.Reduce(); rerr != nil {
		t.Fatal(rerr)
	}
	return r, err
}

// Every cell is what the model does to each sample corrupted on its own,
// recomputed here one sample at a time; the pooled accuracies are the
// cells' counts added up.
func TestCorruptionResultsBySample(t *testing.T) {
	m, src := fixture(t, 23)
	p := corruptionPlan(t, m, src) // corruptions only
	p.Attacks = nil
	r, err := corruptionReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 0 || len(r.WorstCase) != 0 {
		t.Fatalf("a sweep of corruptions alone has %d results and %d worst-case rows", len(r.Results), len(r.WorstCase))
	}
	c := r.Corruptions
	if c == nil || len(c.Results) != 6 {
		t.Fatalf("corruptions block: %+v", c)
	}
	size := m.Spec().Size()
	x, cx := make([]float32, size), make([]float32, size)
	clean, adv := make([]float32, 10), make([]float32, 10)
	total, totalN := 0, 0
	for k, res := range c.Results {
		cor := p.Corruptions[k/3]
		if res.Corruption != cor.Name() || res.Severity != p.Severities[k%3] || res.N != 23 {
			t.Fatalf("results[%d] is %s at %d over %d samples", k, res.Corruption, res.Severity, res.N)
		}
		correct := 0
		var cos []float64
		for i := 0; i < 23; i++ {
			if err := src.ReadSamples(x, []int{i}); err != nil {
				t.Fatal(err)
			}
			if err := cor.Corrupt(cx, x, nil, res.Severity, p.Seed, i); err != nil {
				t.Fatal(err)
			}
			if err := m.Logits(context.Background(), x, 1, clean); err != nil {
				t.Fatal(err)
			}
			if err := m.Logits(context.Background(), cx, 1, adv); err != nil {
				t.Fatal(err)
			}
			if argmax(adv) == src.Label(i) {
				correct++
			}
			if got := r.Samples.Corrupted[k].Pred[i]; got != argmax(adv) {
				t.Errorf("%s at %d, sample %d: pred %d, alone %d", res.Corruption, res.Severity, i, got, argmax(adv))
			}
			cos = append(cos, float64(F32(metrics.Cosine(clean, adv))))
		}
		if res.NCorrect != correct {
			t.Errorf("%s at %d: %d correct, one at a time %d", res.Corruption, res.Severity, res.NCorrect, correct)
		}
		if got, want := float64(res.Cosine.Logits.Mean), metrics.Mean(cos); math.Abs(got-want) > 1e-6 {
			t.Errorf("%s at %d: cosine mean %g, one at a time %g", res.Corruption, res.Severity, got, want)
		}
		if lo, hi := metrics.Wilson(correct, 23); float64(res.AccuracyCI95[0]) != lo || float64(res.AccuracyCI95[1]) != hi {
			t.Errorf("%s at %d: interval %v", res.Corruption, res.Severity, res.AccuracyCI95)
		}
		total, totalN = total+correct, totalN+23
	}
	if c.Overall.NCorrect != total || c.Overall.N != totalN || float64(c.Overall.Accuracy) != float64(total)/float64(totalN) {
		t.Errorf("overall %+v, want %d/%d", c.Overall, total, totalN)
	}
	for j, sev := range c.BySeverity {
		want := c.Results[j].NCorrect + c.Results[3+j].NCorrect
		if sev.Severity != p.Severities[j] || sev.NCorrect != want || sev.N != 46 {
			t.Errorf("by_severity[%d] = %+v, want %d of 46", j, sev, want)
		}
	}
	// Stronger noise breaks more samples: the fixture's accuracy falls.
	if !(c.BySeverity[0].Accuracy > c.BySeverity[2].Accuracy) {
		t.Errorf("accuracy by severity does not fall: %+v", c.BySeverity)
	}
	if len(r.CorruptionExamples) != 1 || r.CorruptionExamples[0].Index != 0 || len(r.CorruptionExamples[0].Images) != 6 {
		t.Fatalf("example grid: %d examples", len(r.CorruptionExamples))
	}
	for _, im := range r.CorruptionExamples[0].Images {
		if !strings.HasPrefix(im.Image, "data:image/png;base64,") {
			t.Errorf("grid image %s at %d is not a PNG", im.Corruption, im.Severity)
		}
	}
}

// Shards merge, and an interrupted run resumes, to the bytes of one run;
// through JSON, as the commands read them.
func TestCorruptionsShardAndResume(t *testing.T) {
	m, src := fixture(t, 23)
	specs := []string{"fgsm"}
	full, err := corruptionReport(t, corruptionPlan(t, m, src, specs...), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*Report
	for i := 2; i >= 0; i-- {
		p := corruptionPlan(t, m, src, specs...)
		p.Shard = Shard{i, 3}
		r, err := corruptionReport(t, p, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Read(bytes.NewReader(encode(t, r)), 0)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, back)
	}
	merged, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := encode(t, full), encode(t, merged); !bytes.Equal(a, b) {
		la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
		for i := 0; i < len(la) && i < len(lb); i++ {
			if !bytes.Equal(la[i], lb[i]) {
				t.Fatalf("merged report differs from the unsharded one at line %d:\n%.300s\n---\n%.300s", i+1, la[i], lb[i])
			}
		}
		t.Fatal("merged report differs from the unsharded one")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := corruptionPlan(t, m, src, specs...)
	p.Progress = &cancelAfter{k: 2, cancel: cancel}
	partial, err := corruptionReport(t, p, ctx, nil)
	if !errors.Is(err, context.Canceled) || partial.Complete || partial.Clean.N != 14 {
		t.Fatalf("interrupted run: %v, complete %v, %d samples", err, partial.Complete, partial.Clean.N)
	}
	back, err := Read(bytes.NewReader(encode(t, partial)), 0)
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := corruptionReport(t, corruptionPlan(t, m, src, specs...), context.Background(), back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, full), encode(t, resumed)) {
		t.Fatal("resumed report differs from the uninterrupted one")
	}
	// Another corruption set is refused, not paired with these outcomes.
	other := corruptionPlan(t, m, src, specs...)
	other.Severities = []int{1, 2, 5}
	if err := sameLayout(other.layout(), back.Samples, true, true); err == nil {
		t.Error("outcomes of severities 1, 3, 5 fit a run of 1, 2, 5")
	}
}

// Decode recomputes the corruption block and refuses a stored figure or a
// layout that its per-sample outcomes do not give.
func TestDecodeRefusesTamperedCorruptions(t *testing.T) {
	m, src := fixture(t, 23)
	r, err := corruptionReport(t, corruptionPlan(t, m, src, "fgsm"), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := encode(t, r)
	if _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(v map[string]any){
		"accuracy": func(v map[string]any) { obj(v, "corruptions", "results", 2)["accuracy"] = 0.99 },
		"overall":  func(v map[string]any) { obj(v, "corruptions", "overall")["n_correct"] = 1 },
		"cosine":   func(v map[string]any) { obj(v, "corruptions", "results", 0, "cosine", "logits")["min"] = 1 },
		"block":    func(v map[string]any) { delete(v, "corruptions") },
		"pred": func(v map[string]any) {
			arr(v, "samples", "corrupted", 1, "pred")[0] = 10
		},
		"order": func(v map[string]any) {
			c := arr(v, "samples", "corrupted")
			c[0], c[1] = c[1], c[0]
		},
		"short": func(v map[string]any) {
			o := obj(v, "samples", "corrupted", 4)
			o["cos_probs"] = arr(o, "cos_probs")[1:]
		},
		"severity": func(v map[string]any) { arr(v, "config", "severities")[2] = 6 },
		"missing":  func(v map[string]any) { obj(v, "samples")["corrupted"] = arr(v, "samples", "corrupted")[:5] },
	} {
		if _, err := Decode(edit(t, b, f)); !errors.Is(err, ErrBadReport) {
			t.Errorf("%s: tampered report decoded (%v)", name, err)
		}
	}
}

// mCE against a baseline is the published formula over the cells, and a
// baseline on other data or corruptions is refused.
func TestMCEAgainstBaseline(t *testing.T) {
	m, src := fixture(t, 23)
	base, err := corruptionReport(t, corruptionPlan(t, m, src), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := corruptionPlan(t, m, src)
	p.Seed = 9 // another draw of the noise: other errors
	p.Corruptions = p.Corruptions[1:]
	p.Severities = []int{5, 1}
	c := ConfigOf(p)
	bl, err := BaselineFor(base, "00", c, base.Dataset.SHA256Decoded, "truth")
	if err != nil {
		t.Fatal(err)
	}
	p.CorruptionBaseline = bl
	r, err := corruptionReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	errOf := func(rep *Report, sev int) float64 {
		for _, res := range rep.Corruptions.Results {
			if res.Corruption == "noise_b" && res.Severity == sev {
				return 1 - float64(res.Accuracy)
			}
		}
		t.Fatalf("no noise_b at %d", sev)
		return 0
	}
	e, eb := errOf(r, 5)+errOf(r, 1), errOf(base, 5)+errOf(base, 1)
	ec, ebc := 1-float64(r.Clean.Accuracy), 1-float64(base.Clean.Accuracy)
	mc := r.Corruptions.MCE
	if mc == nil || len(mc.Corruptions) != 1 {
		t.Fatalf("mce: %+v", mc)
	}
	if got := float64(mc.MCE); math.Abs(got-e/eb) > 1e-12 || mc.Corruptions[0].CE != mc.MCE {
		t.Errorf("mCE %g, want %g", got, e/eb)
	}
	if got, want := float64(mc.RelativeMCE), (e-2*ec)/(eb-2*ebc); math.Abs(got-want) > 1e-12 {
		t.Errorf("relative mCE %g, want %g", got, want)
	}
	if _, err := Decode(encode(t, r)); err != nil {
		t.Fatal(err)
	}
	// The baseline against itself: every CE is 1.
	self, _ := BaselineFor(base, "00", base.Config, base.Dataset.SHA256Decoded, "truth")
	if mc := mce(base.Corruptions.Results, base.Config, self, base.Clean); mc.MCE != 1 || mc.Corruptions[0].CE != 1 {
		t.Errorf("a model against itself: mCE %v", mc.MCE)
	}
	for name, f := range map[string]func() error{
		"data": func() error {
			_, err := BaselineFor(base, "00", c, strings.Repeat("cd", 32), "truth")
			return err
		},
		"labels": func() error { _, err := BaselineFor(base, "00", c, base.Dataset.SHA256Decoded, "pred"); return err },
		"corruption": func() error {
			c2 := c
			c2.Corruptions = append(c2.Corruptions, CorruptionConfig{Name: "fog"})
			_, err := BaselineFor(base, "00", c2, base.Dataset.SHA256Decoded, "truth")
			return err
		},
		"severity": func() error {
			c2 := c
			c2.Severities = []int{2}
			_, err := BaselineFor(base, "00", c2, base.Dataset.SHA256Decoded, "truth")
			return err
		},
		"params": func() error {
			c2 := c
			c2.Corruptions = []CorruptionConfig{{Name: "noise_b", Params: map[string]any{"amplitude": 0.2}}}
			_, err := BaselineFor(base, "00", c2, base.Dataset.SHA256Decoded, "truth")
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrBaseline) {
			t.Errorf("%s: baseline accepted (%v)", name, err)
		}
	}
	// A stored baseline error rate other than the one the CE used is refused.
	b := edit(t, encode(t, r), func(v map[string]any) {
		obj(v, "config", "corruption_baseline", "errors", 0)["error"] = 0.5
	})
	if _, err := Decode(b); !errors.Is(err, ErrBadReport) {
		t.Errorf("edited baseline error decoded (%v)", err)
	}
}

// NewCorruption runs package attacks/corruption as it documents itself:
// the same values as corruption.Apply for the sample's global index.
func TestNewCorruptionIsThePackages(t *testing.T) {
	shape := []int{1, 28, 28}
	x := make([]float32, 28*28)
	for i := range x {
		x[i] = float32(i%29) / 28
	}
	for _, name := range corruption.Names() {
		c, err := NewCorruption(name, shape)
		if err != nil {
			t.Fatal(err)
		}
		if c.Params()["scale"] != "cifar" {
			t.Errorf("%s at 28 px: params %v", name, c.Params())
		}
		got := make([]float32, len(x))
		if err := c.Corrupt(got, x, shape, 3, 7, 41); err != nil {
			t.Fatal(err)
		}
		want, err := corruption.Apply(name, 3, x, 1, 28, 28, corruption.Config{Seed: 7}, 41)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: value %d is %v, corruption.Apply gives %v", name, i, got[i], want[i])
			}
		}
	}
	if _, err := NewCorruption("blur", shape); !errors.Is(err, corruption.ErrUnknown) {
		t.Errorf("unknown corruption: %v", err)
	}
	if _, err := NewCorruption("brightness", []int{2, 28, 28}); err == nil {
		t.Error("two-channel input accepted")
	}
}

// min_corruption_accuracy bounds the overall, per-severity, per-corruption
// or one cell's accuracy (its lower 95% bound with use lower_ci); Decode
// re-derives each check, and refuses an edited one.
func TestCorruptionGate(t *testing.T) {
	m, src := fixture(t, 23)
	r, err := corruptionReport(t, corruptionPlan(t, m, src, "fgsm"), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Corruptions
	cell := c.Results[4] // noise_b at severity 3
	reqs := []Requirement{
		{Kind: "min_corruption_accuracy", Threshold: float64(c.Overall.Accuracy), Use: "point"},
		{Kind: "min_corruption_accuracy", Threshold: float64(c.BySeverity[2].Accuracy) + 0.01, Severity: 5, Use: "point"},
		{Kind: "min_corruption_accuracy", Threshold: float64(c.ByCorruption[0].Accuracy), Corruption: "noise_a", Use: "point"},
		{Kind: "min_corruption_accuracy", Threshold: float64(cell.AccuracyCI95[0]), Corruption: "noise_b", Severity: 3, Use: "lower_ci"},
		{Kind: "min_corruption_accuracy", Threshold: float64(cell.Accuracy) + 1e-9, Corruption: "noise_b", Severity: 3, Use: "point"},
		{Kind: "min_corruption_accuracy", Threshold: 0, Corruption: "fog", Use: "point"},
		{Kind: "min_corruption_accuracy", Threshold: 0, Severity: 5, Use: "lower_ci"},
	}
	if err := r.ApplyRequirements(reqs, nil); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id     string
		passed bool
	}{
		{"corruptions/all/all/min_corruption_accuracy", true},
		{"corruptions/all/5/min_corruption_accuracy", false},
		{"corruptions/noise_a/all/min_corruption_accuracy", true},
		{"corruptions/noise_b/3/min_corruption_accuracy", true},
		{"corruptions/noise_b/3/min_corruption_accuracy", false},
		{"corruptions/fog/all/min_corruption_accuracy", false},
		{"corruptions/all/5/min_corruption_accuracy", false},
	}
	for k, w := range want {
		got := r.Gate.Checks[k+1]
		if got.ID != w.id || got.Passed != w.passed {
			t.Errorf("check %d: %s passed %v (%s), want %s passed %v", k, got.ID, got.Passed, got.Got, w.id, w.passed)
		}
	}
	if got := r.Gate.Checks[4]; got.Want != "≥ "+fmtEps(float64(cell.AccuracyCI95[0]))+" (lower 95% bound)" || got.Got != fmtNum(cell.AccuracyCI95[0]) {
		t.Errorf("lower_ci check: want %q got %q", got.Want, got.Got)
	}
	gated := encode(t, r)
	if _, err := Decode(gated); err != nil {
		t.Fatalf("the gated report: %v", err)
	}
	for name, f := range map[string]func(v map[string]any){
		"passed": func(v map[string]any) { obj(v, "gate", "checks", 2)["passed"] = true },
		"got":    func(v map[string]any) { obj(v, "gate", "checks", 1)["got"] = "0.999" },
		"id": func(v map[string]any) {
			obj(v, "gate", "checks", 3)["id"] = "corruptions/noise_a/9/min_corruption_accuracy"
		},
	} {
		if _, err := Decode(edit(t, gated, f)); !errors.Is(err, ErrBadReport) {
			t.Errorf("%s: edited gate decoded (%v)", name, err)
		}
	}
}
