package compare

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/reports"
)

const sha = "9c85850594d86f6ee659dfa3a8eaf95f180f515903f57971a83dd29cea947672"

// report builds a reduced report over n samples labelled i % 10: clean
// predictions, and per eps of one FGSM run the predictions and the logit
// cosines (every sample attacked when it is classified correctly).
func report(t *testing.T, clean []int, preds map[float64][]int, cos float32) *reports.Report {
	t.Helper()
	n := len(clean)
	s := &reports.Samples{Label: make([]int, n), CleanPred: clean}
	var eps []reports.EpsConfig
	for _, e := range []float64{0, 0.1, 0.3} {
		p, ok := preds[e]
		if !ok {
			continue
		}
		eps = append(eps, reports.EpsConfig{Norm: "linf", Requested: "x", Value: e})
		o := reports.Outcomes{AttackID: "fgsm", Norm: "linf", Eps: e, Pred: p, CosLogits: make([]reports.F32, n), CosProbs: make([]reports.F32, n),
			KL: make([]reports.F32, n), Linf: make([]reports.F32, n), L2: make([]reports.F32, n), Queries: make([]int, n)}
		for i := range o.CosLogits {
			o.CosLogits[i], o.CosProbs[i] = reports.F32(cos), reports.F32(cos)
		}
		s.Outcomes = append(s.Outcomes, o)
	}
	for i := 0; i < n; i++ {
		s.Index = append(s.Index, i)
		s.Label[i] = i % 10
	}
	r := &reports.Report{Schema: reports.Schema, Complete: true, Samples: s,
		Dataset: reports.Dataset{Spec: "mnist-sample", SHA256Decoded: sha, Total: n, LabelSource: "truth"},
		Config: reports.Config{
			Attacks: []reports.AttackConfig{{AttackID: "fgsm", Name: "fgsm", Norm: "linf"}},
			Eps:     eps, Shard: reports.Shard{I: 0, N: 1},
		}}
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	return r
}

// labels returns n predictions equal to the labels i % 10, then sets the
// samples in wrong to a wrong class.
func labels(n int, wrong ...int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i % 10
	}
	for _, i := range wrong {
		p[i] = (i + 1) % 10
	}
	return p
}

func TestChanges(t *testing.T) {
	const n = 40
	// Baseline A: clean errors 0, 1; at eps 0.1 also 2…9 broken; at 0.3,
	// 2…29 broken. B: clean error 0 only; at eps 0.1 broken 10, 11 (so 2…9
	// newly robust, 10 and 11 newly broken, 1 newly robust); at 0.3 every
	// sample broken.
	rangeOf := func(lo, hi int) []int {
		var v []int
		for i := lo; i < hi; i++ {
			v = append(v, i)
		}
		return v
	}
	a := report(t, labels(n, 0, 1), map[float64][]int{
		0: labels(n, 0, 1), 0.1: labels(n, rangeOf(0, 10)...), 0.3: labels(n, rangeOf(0, 30)...)}, 0.9)
	b := report(t, labels(n, 0), map[float64][]int{
		0: labels(n, 0), 0.1: labels(n, 0, 10, 11), 0.3: labels(n, rangeOf(0, n)...)}, 0.5)
	c, err := New([]string{"a.json", "b.json"}, []*reports.Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rows) != 3 || len(c.Clean) != 1 {
		t.Fatalf("%d rows, %d clean changes", len(c.Rows), len(c.Clean))
	}
	for _, w := range []struct {
		name           string
		ch             *Change
		broken, robust int
		acc            float64
	}{
		{"clean", &c.Clean[0], 0, 1, 1.0 / n},
		{"eps 0", c.Rows[0].Changes[0], 0, 1, 1.0 / n},
		{"eps 0.1", c.Rows[1].Changes[0], 2, 9, 7.0 / n},
		{"eps 0.3", c.Rows[2].Changes[0], 10, 0, -10.0 / n},
	} {
		ch := w.ch
		if ch.NewlyBroken != w.broken || ch.NewlyRobust != w.robust || ch.Paired != n {
			t.Errorf("%s: newly broken %d, newly robust %d, paired %d; want %d, %d, %d", w.name, ch.NewlyBroken, ch.NewlyRobust, ch.Paired, w.broken, w.robust, n)
		}
		// The accuracy change is exactly the flips' balance over the samples.
		if math.Abs(float64(ch.Accuracy)-w.acc) > 1e-12 {
			t.Errorf("%s: Δ accuracy %v, want %v", w.name, float64(ch.Accuracy), w.acc)
		}
		p, exact := metrics.McNemar(w.broken, w.robust)
		if ch.P != p || ch.Exact != exact || !exact {
			t.Errorf("%s: p %v (exact %v), want %v (exact)", w.name, ch.P, ch.Exact, p)
		}
	}
	// By hand: 2 vs 9 discordant: 2·P(X ≤ 2), X ~ B(11, 1/2) = 2·(1+11+55)/2048.
	if p := c.Rows[1].Changes[0].P; math.Abs(p-134.0/2048) > 1e-15 {
		t.Errorf("eps 0.1: p %v, want 134/2048", p)
	}
	if d := c.Rows[1].Changes[0].Cosine; math.Abs(float64(d)-(0.5-0.9)) > 1e-6 {
		t.Errorf("Δ cosine %v, want -0.4", float64(d))
	}
	if c.Clean[0].Cosine.Valid() {
		t.Error("the clean row has a cosine change")
	}
	if got := c.Rows[1].Changes[0].Test(); got != "exact binomial" {
		t.Errorf("test %q", got)
	}
}

// With 25 discordant samples or more the chi-square approximation is used
// and said to be.
func TestChiSquareBranch(t *testing.T) {
	const n = 60
	var broken []int
	for i := 0; i < 30; i++ {
		broken = append(broken, i)
	}
	a := report(t, labels(n), map[float64][]int{0.1: labels(n)}, 1)
	b := report(t, labels(n), map[float64][]int{0.1: labels(n, broken...)}, 1)
	c, err := New([]string{"a", "b"}, []*reports.Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Rows[0].Changes[0]
	// χ² = (30 − 1)² / 30; p = erfc(√(χ²/2)).
	want := math.Erfc(math.Sqrt(29.0 * 29 / 30 / 2))
	if ch.Exact || math.Abs(ch.P-want) > 1e-15 || ch.NewlyBroken != 30 || ch.Test() != "chi-square (continuity-corrected)" {
		t.Errorf("p %v (exact %v, %s), broken %d; want %v by chi-square", ch.P, ch.Exact, ch.Test(), ch.NewlyBroken, want)
	}
}

// A row missing from one report has no value there and no change.
func TestRowsMissingFromAReport(t *testing.T) {
	const n = 10
	a := report(t, labels(n), map[float64][]int{0: labels(n), 0.1: labels(n, 1)}, 1)
	b := report(t, labels(n), map[float64][]int{0: labels(n), 0.3: labels(n, 1, 2)}, 1)
	c, err := New([]string{"a", "b"}, []*reports.Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rows) != 3 {
		t.Fatalf("%d rows, want eps 0, 0.1, 0.3", len(c.Rows))
	}
	for k, want := range []struct {
		eps      float64
		a, b, ch bool
	}{{0, true, true, true}, {0.1, true, false, false}, {0.3, false, true, false}} {
		row := c.Rows[k]
		if row.Eps != want.eps || (row.Values[0] != nil) != want.a || (row.Values[1] != nil) != want.b || (row.Changes[0] != nil) != want.ch {
			t.Errorf("row %d: eps %v, values %v %v, change %v; want %+v", k, row.Eps, row.Values[0] != nil, row.Values[1] != nil, row.Changes[0] != nil, want)
		}
	}
}

// Reports on other data are refused, saying how they differ.
func TestRefusesOtherData(t *testing.T) {
	const n = 10
	base := func() *reports.Report { return report(t, labels(n), map[float64][]int{0.1: labels(n, 1)}, 1) }
	for _, c := range []struct {
		name string
		edit func(r *reports.Report)
		say  string
		want error
	}{
		{"other data", func(r *reports.Report) { r.Dataset.SHA256Decoded = strings.Repeat("ab", 32) }, "b.json was run on other data than a.json (decoded data sha256 abababababab, not 9c85850594d8)", ErrDifferentData},
		{"other label source", func(r *reports.Report) { r.Dataset.LabelSource = "pred" }, "b.json uses pred labels, a.json truth labels", ErrDifferentData},
		{"other samples", func(r *reports.Report) {
			r.Samples.Index = r.Samples.Index[:5]
			r.Config.Shard = reports.Shard{I: 0, N: 2}
		}, "b.json covers other samples than a.json (5 samples, shard 0/2; a.json: 10 samples, shard 0/1)", ErrDifferentData},
		{"other labels", func(r *reports.Report) { r.Samples.Label[3] = 7 }, "b.json labels the samples differently from a.json", ErrDifferentData},
		{"no samples", func(r *reports.Report) { r.Samples = nil }, "b.json: the report has no per-sample outcomes", ErrNoSamples},
		{"embedding task", func(r *reports.Report) { r.Config.Task = reports.TaskEmbedding }, "b.json is a report of an embedding task", ErrTask},
	} {
		b := base()
		c.edit(b)
		_, err := New([]string{"a.json", "b.json"}, []*reports.Report{base(), b})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.say)
		}
	}
	if _, err := New([]string{"a.json"}, []*reports.Report{base()}); err == nil {
		t.Error("one report was compared")
	}
}
