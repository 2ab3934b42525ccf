package reports

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models"
)

var minSpecs = []string{"fgsm", "deepfool:steps=5", "fmn:steps=10"}

func minNormReport(t *testing.T, batch int, shard Shard) *Report {
	t.Helper()
	m, src := fixture(t, 23)
	p := plan(t, m, src, minSpecs...)
	p.Batch, p.Shard = batch, shard
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Model.Outputs = []TensorInfo{{Name: "logits", Shape: []int{-1, 10}}}
	return r
}

// curveAt is the accuracy of a robustness curve at eps.
func curveAt(c []CurvePoint, eps float64) float64 {
	acc := math.NaN()
	for _, p := range c {
		if p.Eps <= eps {
			acc = float64(p.Accuracy)
		}
	}
	return acc
}

// TestMinNormSummary: the minimal-norm attacks' per-sample norms give the
// distribution and the curve; at every grid eps the curve's accuracy is at
// least the accuracy of the attack's own outcome there (a sample broken at
// distance d is broken at every eps ≥ d; the projection of a longer
// perturbation may break one more), the quantiles are those of the stored
// norms, and the median minimal eps of a norm takes the minimal norms into
// account.
func TestMinNormSummary(t *testing.T) {
	r := minNormReport(t, 7, Shard{0, 1})
	if len(r.Summary.MinNorm) != 2 || len(r.Samples.MinNorms) != 2 {
		t.Fatalf("%d summaries, %d records; want 2", len(r.Summary.MinNorm), len(r.Samples.MinNorms))
	}
	n := len(r.Samples.Index)
	for k, mn := range r.Summary.MinNorm {
		rec := r.Samples.MinNorms[k]
		if mn.AttackID != minSpecs[k+1] || rec.AttackID != mn.AttackID {
			t.Fatalf("summary %d is %s, record %s", k, mn.AttackID, rec.AttackID)
		}
		if mn.NAttacked != r.Clean.NCorrect || mn.NBroken == 0 {
			t.Errorf("%s: %d attacked, %d broken (clean correct %d)", mn.AttackID, mn.NAttacked, mn.NBroken, r.Clean.NCorrect)
		}
		if got := curveAt(mn.Curve, 0); got != float64(r.Clean.Accuracy) {
			t.Errorf("%s: curve at 0 is %v, clean accuracy %v", mn.AttackID, got, r.Clean.Accuracy)
		}
		var vals []float64
		for i, v := range rec.Values {
			if r.Samples.CleanPred[i] != r.Samples.Label[i] {
				if v != 0 {
					t.Errorf("%s: clean error %d has minimal norm %v", mn.AttackID, i, v)
				}
				continue
			}
			if v < 0 {
				vals = append(vals, math.Inf(1))
			} else {
				vals = append(vals, float64(v))
			}
		}
		if want := quantile(vals, 50); !sameNum(mn.Median, want) {
			t.Errorf("%s: median %v, want %v", mn.AttackID, mn.Median, want)
		}
		for _, res := range r.Results {
			if res.AttackID != mn.AttackID {
				continue
			}
			curve := curveAt(mn.Curve, res.Eps) * float64(n)
			if float64(res.NCorrect) > curve+1e-9 {
				t.Errorf("%s at eps %g: %d samples correct, but the minimal norms leave %v", mn.AttackID, res.Eps, res.NCorrect, curve)
			}
			// Counted from the stored norms: robust = attacked and norm > eps or unbroken.
			robust := 0
			for i, v := range rec.Values {
				if r.Samples.CleanPred[i] == r.Samples.Label[i] && (v < 0 || float64(v) > res.Eps) {
					robust++
				}
			}
			if float64(robust) != math.Round(curve) {
				t.Errorf("%s at eps %g: curve gives %v robust, the norms %d", mn.AttackID, res.Eps, curve, robust)
			}
		}
	}
	// Without the minimal-norm attacks the L∞ median minimal eps can only be
	// coarser (a grid value) or unbroken.
	m, src := fixture(t, 23)
	grid, err := newReport(t, plan(t, m, src, "fgsm", "deepfool:steps=5"), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, me := range r.Summary.MinimalEps {
		if me.Norm != "linf" {
			continue
		}
		for _, g := range grid.Summary.MinimalEps {
			if g.Norm == "linf" && g.Median.Valid() && (!me.Median.Valid() || me.Median > g.Median) {
				t.Errorf("linf median minimal eps %v with FMN, %v without", me.Median, g.Median)
			}
		}
		if me.SamplesUnbroken > r.Clean.NCorrect-r.Summary.MinNorm[1].NBroken {
			t.Errorf("linf: %d samples unbroken, FMN broke %d of %d", me.SamplesUnbroken, r.Summary.MinNorm[1].NBroken, r.Clean.NCorrect)
		}
	}
}

func sameNum(a, b Num) bool {
	return a == b || (!a.Valid() && !b.Valid())
}

// Minimal norms are per sample: the report does not depend on the batch
// size or thread count, and shards merge into the unsharded report.
func TestMinNormDeterministicAndMerged(t *testing.T) {
	a := minNormReport(t, 7, Shard{0, 1})
	models.SetThreads(1)
	b := minNormReport(t, 4, Shard{0, 1})
	models.SetThreads(0)
	b.Config.Batch = a.Config.Batch
	if !bytes.Equal(encode(t, a), encode(t, b)) {
		t.Fatal("reports differ between batch sizes / thread counts")
	}
	var parts []*Report
	for i := 0; i < 3; i++ {
		p := minNormReport(t, 7, Shard{i, 3})
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
	merged.Model.Outputs = a.Model.Outputs
	if !bytes.Equal(encode(t, a), encode(t, merged)) {
		t.Fatal("merged report differs from the unsharded one")
	}
}

// The minimal norms and their summary are evidence like the outcomes:
// Decode recomputes the summary and refuses records that do not follow the
// configuration or hold values a minimal norm cannot take.
func TestDecodeRefusesTamperedMinNorms(t *testing.T) {
	full := encode(t, minNormReport(t, 7, Shard{0, 1}))
	if _, err := Decode(edit(t, full, func(map[string]any) {})); err != nil {
		t.Fatalf("the untampered report: %v", err)
	}
	recs := func(v map[string]any) []any { return arr(v, "samples", "min_norms") }
	// The first attacked sample and the first clean error.
	r, _ := Decode(full)
	attacked, clean := -1, -1
	for i := range r.Samples.Index {
		if r.Samples.CleanPred[i] == r.Samples.Label[i] && attacked < 0 && r.Samples.MinNorms[0].Values[i] > 0 {
			attacked = i
		}
		if r.Samples.CleanPred[i] != r.Samples.Label[i] && clean < 0 {
			clean = i
		}
	}
	for _, c := range []struct {
		name string
		f    func(v map[string]any)
		say  string
	}{
		{"median", func(v map[string]any) { obj(v, "summary", "min_norm", 0)["median"] = 0.001 },
			"summary.min_norm[0].median is 0.001"},
		{"curve point", func(v map[string]any) { obj(v, "summary", "min_norm", 1, "curve", 1)["accuracy"] = 0.99 },
			"summary.min_norm[1].curve[1].accuracy is 0.99"},
		{"summary dropped", func(v map[string]any) { delete(obj(v, "summary"), "min_norm") },
			"summary.min_norm"},
		{"norm lowered", func(v map[string]any) { arr(v, "samples", "min_norms", 0, "values")[attacked] = 1e-3 },
			"summary.min_norm[0]"},
		{"record removed", func(v map[string]any) { obj(v, "samples")["min_norms"] = recs(v)[1:] },
			"samples.min_norms holds 1 records; the configuration has 2 minimal-norm attacks"},
		{"records swapped", func(v map[string]any) { rs := recs(v); rs[0], rs[1] = rs[1], rs[0] },
			"samples.min_norms[0] is fmn:steps=10 (linf); the configuration puts deepfool:steps=5 (l2) there"},
		{"values short", func(v map[string]any) { o := obj(v, "samples", "min_norms", 0); o["values"] = arr(o, "values")[1:] },
			"minimal norms of deepfool:steps=5 do not cover the 23 samples"},
		{"clean error broken", func(v map[string]any) { arr(v, "samples", "min_norms", 0, "values")[clean] = 0.3 },
			"want 0 for a clean error"},
		{"negative norm", func(v map[string]any) { arr(v, "samples", "min_norms", 1, "values")[attacked] = -0.5 },
			"-1 (unbroken) or a positive norm"},
		{"null norm", func(v map[string]any) { arr(v, "samples", "min_norms", 1, "values")[attacked] = nil },
			"-1 (unbroken) or a positive norm"},
	} {
		_, err := Decode(edit(t, full, c.f))
		if !errors.Is(err, ErrBadReport) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: got %v, want a bad report saying %q", c.name, err, c.say)
		}
	}
}

// advCapture keeps the adversarial examples a sweep writes, by attack, norm
// and eps, then sample index.
type advCapture struct {
	size int
	adv  map[outcomeKey]map[int][]float32
}

func (c *advCapture) Write(attackID string, e Eps, index []int, adv []float32) error {
	k := outcomeKey{attackID, e.Norm.String(), e.Value}
	if c.adv[k] == nil {
		c.adv[k] = map[int][]float32{}
	}
	for j, i := range index {
		c.adv[k][i] = append([]float32(nil), adv[j*c.size:(j+1)*c.size]...)
	}
	return nil
}

// TestL1Sweep: a sweep with L1 attacks — fixed-eps (apgd-ce, square,
// autoattack) and minimal-norm (fmn, fab) — reports L1 results, the L1 worst
// case and minimal norms, and its report decodes (the checks Decode and
// merge make accept the norm). Each sample's L1 norm is that of its
// adversarial example, and l1_mean their mean over the attacked samples.
func TestL1Sweep(t *testing.T) {
	m, src := fixture(t, 12)
	p := plan(t, m, src, "apgd-ce:norm=l1,iters=5", "square:norm=l1,queries=20", "fmn:norm=l1,steps=10", "fab:norm=l1,iters=5", "autoattack:norm=l1,iters=3,queries=10,targets=2", "fgsm")
	g, err := ParseEps("linf=0,0.05 l1=0,2,8")
	if err != nil {
		t.Fatal(err)
	}
	p.Eps = g
	sink := &advCapture{size: src.size, adv: map[outcomeKey]map[int][]float32{}}
	p.AdvSink = sink
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l1 := 0
	for _, res := range r.Results {
		if res.Norm == "l1" {
			l1++
		}
	}
	if l1 != 5*3 {
		t.Errorf("%d L1 result rows, want 15", l1)
	}
	var worst []WorstCase
	for _, w := range r.WorstCase {
		if w.Norm == "l1" {
			worst = append(worst, w)
		}
	}
	if len(worst) != 3 || len(worst[2].Attacks) != 5 || worst[2].Accuracy > worst[0].Accuracy {
		t.Fatalf("L1 worst case %+v", worst)
	}
	auc := false
	for _, a := range r.Summary.AUC {
		auc = auc || a.AttackID == "worst_case" && a.Norm == "l1"
	}
	if !auc {
		t.Error("no L1 worst-case AUC")
	}
	if len(r.Summary.MinNorm) != 2 || r.Summary.MinNorm[0].Norm != "l1" {
		t.Fatalf("summary.min_norm %+v", r.Summary.MinNorm)
	}
	// Every sample's L1 norm lies in its ball (float32 rounding aside), and
	// ‖d‖₁ ≥ ‖d‖₂ ≥ ‖d‖∞ sample by sample, so for the means too, whatever
	// the attack's norm.
	tol := func(eps float64) float64 { return eps*1e-5 + 1e-6 }
	for _, o := range r.Samples.Outcomes {
		for i, v := range o.L1 {
			if o.Norm == "l1" && float64(v) > o.Eps+tol(o.Eps) {
				t.Errorf("%s at eps %g: sample %d has L1 norm %v", o.AttackID, o.Eps, r.Samples.Index[i], v)
			}
			if float64(v)+1e-6 < float64(o.L2[i]) || float64(o.L2[i])+1e-6 < float64(o.Linf[i]) {
				t.Errorf("%s at eps %g: sample %d has norms L1 %v, L2 %v, L∞ %v", o.AttackID, o.Eps, r.Samples.Index[i], v, o.L2[i], o.Linf[i])
			}
		}
	}
	for k, o := range r.Samples.Outcomes {
		sum, n := 0.0, 0
		for i, idx := range r.Samples.Index {
			adv, x := sink.adv[keyOf(&o)][idx], src.x[idx*src.size:(idx+1)*src.size]
			l1 := 0.0
			for q := range x {
				l1 += math.Abs(float64(adv[q]) - float64(x[q]))
			}
			if d := math.Abs(float64(o.L1[i]) - l1); d > 1e-6*math.Max(1, l1) {
				t.Errorf("%s at eps %g: sample %d has L1 norm %v, its adversarial example %v", o.AttackID, o.Eps, idx, o.L1[i], l1)
			}
			if r.Samples.CleanPred[i] == r.Samples.Label[i] {
				sum, n = sum+float64(o.L1[i]), n+1
			}
		}
		got := r.Results[k].Perturbation.L1Mean
		if got == nil || n == 0 || math.Abs(float64(*got)-sum/float64(n)) > 1e-12*math.Max(1, sum) {
			t.Fatalf("%s at eps %g: l1_mean %v, the %d attacked samples' mean %v", o.AttackID, o.Eps, got, n, sum/float64(n))
		}
	}
	for _, res := range r.Results {
		p := res.Perturbation
		if p.L1Mean == nil {
			t.Fatalf("%s at eps %g: no l1_mean", res.AttackID, res.Eps)
		}
		l1 := float64(*p.L1Mean)
		if l1+1e-6 < float64(p.L2Mean) || float64(p.L2Mean)+1e-6 < float64(p.LinfMean) {
			t.Errorf("%s at eps %g: means L1 %v, L2 %v, L∞ %v", res.AttackID, res.Eps, l1, p.L2Mean, p.LinfMean)
		}
		switch {
		case res.Norm == "l1" && l1 > res.Eps+tol(res.Eps):
			t.Errorf("%s at eps %g: l1_mean %v outside the ball", res.AttackID, res.Eps, l1)
		case res.Eps == 0 && l1 != 0:
			t.Errorf("%s at eps 0: l1_mean %v", res.AttackID, l1)
		case res.Eps > 0 && !(l1 > 0):
			t.Errorf("%s at eps %g: l1_mean %v, want > 0", res.AttackID, res.Eps, l1)
		}
	}
	back, err := Decode(encode(t, r))
	if err != nil {
		t.Fatalf("an L1 report does not decode: %v", err)
	}
	if len(back.WorstCase) != len(r.WorstCase) {
		t.Errorf("decoded worst case %d rows, want %d", len(back.WorstCase), len(r.WorstCase))
	}
}
