package attacks

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/models"
)

// Small budgets keep the tests fast; the definitions are the same.
var quickMin = []string{
	"cw:steps=30,binary_steps=3,c=10,lr=0.1", "deepfool", "deepfool:norm=linf", "fmn:steps=20",
	"fmn:steps=20,norm=l2", "fmn:steps=20,norm=l1",
}

func minimize(t *testing.T, a Attack, m models.Model, b Batch) ([]float32, []float64, *Result) {
	t.Helper()
	adv := make([]float32, len(b.X))
	dist := make([]float64, b.Len())
	res := &Result{Queries: make([]int, b.Len())}
	if err := a.(Minimizer).Minimize(context.Background(), m, b, Seeds{Seed: 1, ID: a.ID()}, adv, dist, res); err != nil {
		t.Fatalf("%s: %v", a.ID(), err)
	}
	return adv, dist, res
}

// TestMinimizerAnswers: every point a minimal-norm attack returns with a
// finite distance lies in the bounds, is misclassified by the model (checked
// alone, not in the attack's batch) and lies at exactly the reported
// distance; an unbroken sample gets its clean input and +Inf. On the zoo CNN
// every attack breaks most samples.
func TestMinimizerAnswers(t *testing.T) {
	ctx := context.Background()
	m := zooModel(t, "mnist-cnn")
	const n = 12
	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{X: samplesOf(t, d), Labels: d.Labels, Index: all(n)}
	size, k := m.Spec().Size(), m.Spec().Classes
	for _, spec := range quickMin {
		a, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		adv, dist, res := minimize(t, a, m, b)
		broke := 0
		for i := 0; i < n; i++ {
			x, xa := b.X[i*size:(i+1)*size], adv[i*size:(i+1)*size]
			if res.Queries[i] == 0 {
				t.Errorf("%s: sample %d: no queries counted", spec, i)
			}
			if math.IsInf(dist[i], 1) {
				if !reflect.DeepEqual(x, xa) {
					t.Errorf("%s: unbroken sample %d is not its clean input", spec, i)
				}
				continue
			}
			broke++
			diff := make([]float32, size)
			for q := range x {
				if xa[q] < 0 || xa[q] > 1 {
					t.Fatalf("%s: sample %d value %v outside [0, 1]", spec, i, xa[q])
				}
				diff[q] = xa[q] - x[q]
			}
			if got := a.Norm().Dist(diff); got != dist[i] || got <= 0 {
				t.Errorf("%s: sample %d at distance %v, reported %v", spec, i, got, dist[i])
			}
			row := make([]float32, k)
			if err := m.Logits(ctx, xa, 1, row); err != nil {
				t.Fatal(err)
			}
			if argmax(row) == b.Labels[i] {
				t.Errorf("%s: sample %d: the returned point is classified as its label", spec, i)
			}
		}
		if broke < n/2 {
			t.Errorf("%s broke %d of %d samples of the undefended CNN", spec, broke, n)
		}
	}
}

// TestMinimizerRunInvariants: as attacks at a radius (Run), the minimal-norm
// attacks keep every point in the bounds and the eps-ball, return the input
// at eps 0, count queries, and at eps = +∞… the minimal point itself: a
// sample broken at distance d is broken at every eps ≥ d.
func TestMinimizerRunInvariants(t *testing.T) {
	ctx := context.Background()
	m := openModel(t, "view_chain")
	size, k := m.Spec().Size(), m.Spec().Classes
	b := randomBatch(m, 6, 1)
	for _, spec := range quickMin {
		a, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		best, dist, _ := minimize(t, a, m, b)
		for _, eps := range []float64{0, 0.05, 0.3, 2, 50} {
			adv := make([]float32, len(b.X))
			res := &Result{Queries: make([]int, b.Len())}
			if err := a.Run(ctx, m, b, eps, Seeds{Seed: 1, ID: a.ID()}, adv, res); err != nil {
				t.Fatalf("%s eps %v: %v", spec, eps, err)
			}
			logits := make([]float32, b.Len()*k)
			if err := m.Logits(ctx, adv, b.Len(), logits); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < b.Len(); i++ {
				x, xa := b.X[i*size:(i+1)*size], adv[i*size:(i+1)*size]
				diff := make([]float32, size)
				for q := range x {
					if xa[q] < 0 || xa[q] > 1 || xa[q] != xa[q] {
						t.Fatalf("%s eps %v: value %v outside [0, 1]", spec, eps, xa[q])
					}
					diff[q] = xa[q] - x[q]
				}
				if dd := a.Norm().Dist(diff); dd > eps+1e-6*math.Max(1, eps) {
					t.Fatalf("%s eps %v: sample %d at distance %v", spec, eps, i, dd)
				}
				if dist[i] <= eps {
					if !reflect.DeepEqual(xa, best[i*size:(i+1)*size]) {
						t.Errorf("%s eps %v: sample %d broken at %v is not its minimal point", spec, eps, i, dist[i])
					}
					if argmax(logits[i*k:(i+1)*k]) == b.Labels[i] {
						t.Errorf("%s eps %v: sample %d broken at %v is classified as its label", spec, eps, i, dist[i])
					}
				}
			}
			if eps == 0 && !reflect.DeepEqual(adv, b.X) {
				t.Errorf("%s: eps 0 changed the input", spec)
			}
			if res.Queries[0] == 0 {
				t.Errorf("%s: no queries counted", spec)
			}
		}
	}
}

// TestMinimizerBatchIndependence: a sample's minimal point and distance do
// not depend on its batch-mates, its position or the batch size.
func TestMinimizerBatchIndependence(t *testing.T) {
	m := zooModel(t, "mnist-cnn")
	const n = 5
	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	size := m.Spec().Size()
	b := Batch{X: samplesOf(t, d), Labels: d.Labels, Index: all(n)}
	for _, spec := range quickMin {
		a, _ := Parse(spec)
		full, fullDist, _ := minimize(t, a, m, b)
		for _, i := range []int{4, 1} {
			one := Batch{X: b.X[i*size : (i+1)*size], Labels: b.Labels[i : i+1], Index: b.Index[i : i+1]}
			adv, dist, _ := minimize(t, a, m, one)
			if dist[0] != fullDist[i] || !reflect.DeepEqual(adv, full[i*size:(i+1)*size]) {
				t.Errorf("%s: sample %d differs alone (%v) and in its batch (%v)", spec, i, dist[0], fullDist[i])
			}
		}
	}
}

// TestMinimizerSweepEqualsRun: one RunSweep answers every eps as Run does.
func TestMinimizerSweepEqualsRun(t *testing.T) {
	ctx := context.Background()
	m := openModel(t, "view_chain")
	b := randomBatch(m, 4, 5)
	eps := []float64{0, 0.1, 0.5, 3}
	a, _ := Parse("fmn:steps=15,norm=l2")
	sw := a.(EpsSweeper)
	advs := make([][]float32, len(eps))
	res := make([]*Result, len(eps))
	for e := range eps {
		advs[e] = make([]float32, len(b.X))
		res[e] = &Result{Queries: make([]int, b.Len())}
	}
	if err := sw.RunSweep(ctx, m, b, eps, Seeds{ID: a.ID()}, advs, res); err != nil {
		t.Fatal(err)
	}
	for e, v := range eps {
		one := make([]float32, len(b.X))
		r := &Result{Queries: make([]int, b.Len())}
		if err := a.Run(ctx, m, b, v, Seeds{ID: a.ID()}, one, r); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(one, advs[e]) || !reflect.DeepEqual(r.Queries, res[e].Queries) {
			t.Errorf("eps %v: sweep and run differ", v)
		}
		if r.Queries[0] != 15 {
			t.Errorf("eps %v: %d queries, want 15 (one per step)", v, r.Queries[0])
		}
	}
}

// TestMinimizerCancel: a cancelled context stops the attack with its error.
func TestMinimizerCancel(t *testing.T) {
	m := openModel(t, "view_chain")
	b := randomBatch(m, 3, 6)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, spec := range quickMin {
		a, _ := Parse(spec)
		adv := make([]float32, len(b.X))
		dist := make([]float64, b.Len())
		if err := a.(Minimizer).Minimize(ctx, m, b, Seeds{}, adv, dist, nil); err != context.Canceled {
			t.Errorf("%s: cancelled run returned %v", spec, err)
		}
	}
}

// TestProjectL1 checks the L1-ball projection on a hand-computed case and,
// on random vectors, against the defining property: the result is the
// soft-thresholding of the perturbation whose L1 norm is eps, found here by
// bisection on the threshold.
func TestProjectL1(t *testing.T) {
	x := []float32{0.5, 0.5, 0.5}
	adv := []float32{3.5, 1.5, -1.5} // d = 3, 1, −2; θ = 1 → 2, 0, −1
	projectL1(adv, x, 3)
	if want := []float32{2.5, 0.5, -0.5}; !reflect.DeepEqual(adv, want) {
		t.Errorf("projection %v, want %v", adv, want)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 50; trial++ {
		n := 1 + rng.IntN(40)
		x, adv := make([]float32, n), make([]float32, n)
		l1 := 0.0
		for i := range x {
			x[i] = float32(rng.Float64())
			adv[i] = x[i] + float32(rng.NormFloat64())
			l1 += math.Abs(float64(adv[i] - x[i]))
		}
		eps := l1 * rng.Float64()
		orig := append([]float32(nil), adv...)
		projectL1(adv, x, eps)
		shrink := func(th float64) float64 {
			s := 0.0
			for i := range x {
				s += math.Max(math.Abs(float64(orig[i]-x[i]))-th, 0)
			}
			return s
		}
		lo, hi := 0.0, 100.0
		for it := 0; it < 200; it++ {
			if mid := (lo + hi) / 2; shrink(mid) > eps {
				lo = mid
			} else {
				hi = mid
			}
		}
		for i := range x {
			d := float64(orig[i] - x[i])
			want := math.Copysign(math.Max(math.Abs(d)-lo, 0), d)
			if got := float64(adv[i] - x[i]); math.Abs(got-want) > 1e-5 {
				t.Fatalf("trial %d: component %d is %v, want %v", trial, i, got, want)
			}
		}
		if got := L1.Dist(sub(adv, x)); got > eps*(1+1e-5)+1e-6 {
			t.Fatalf("trial %d: L1 norm %v after projection onto %v", trial, got, eps)
		}
	}
}

func sub(a, b []float32) []float32 {
	d := make([]float32, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}

// TestMinimizerSpecs: parameters, defaults and the refusals.
func TestMinimizerSpecs(t *testing.T) {
	for spec, want := range map[string]map[string]any{
		"cw":                {"steps": 10000, "binary_steps": 9, "c": 1e-3, "lr": 1e-2, "confidence": 0.0, "abort_early": true},
		"deepfool":          {"steps": 50, "overshoot": 0.02, "norm": "l2"},
		"fmn":               {"steps": 100, "alpha": 1.0, "gamma": 0.05, "norm": "linf"},
		"fmn:norm=l1":       {"norm": "l1"},
		"deepfool:norm=inf": {"norm": "linf"},
	} {
		a, err := Parse(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		for k, v := range want {
			if a.Params()[k] != v {
				t.Errorf("%s: %s = %v, want %v", spec, k, a.Params()[k], v)
			}
		}
	}
	if a, _ := Parse("fmn:norm=l1"); a.Norm() != L1 || a.ID() != "fmn:norm=l1" {
		t.Errorf("fmn:norm=l1: norm %v, id %s", a.Norm(), a.ID())
	}
	for spec, want := range map[string]string{
		"fmn:norm=l3":           "want linf, l2 or l1",
		"fmn:gamma=1":           "gamma in (0, 1)",
		"cw:binary_steps=65":    "binary_steps in 1…64",
		"cw:steps=100001":       "at most 100000",
		"deepfool:steps=0":      "steps must be positive",
		"deepfool:norm=l1":      "want linf or l2",
		"cw:lr=0":               "lr positive",
		"deepfool:overshoot=-1": "overshoot ≥ 0",
	} {
		_, err := Parse(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", spec, err, want)
		}
	}
	for spec, want := range map[string]string{"cw": "cw:steps=20000", "deepfool": "deepfool:steps=100", "fmn:norm=l2": "fmn:norm=l2,steps=200"} {
		a, _ := Parse(spec)
		if got := a.(Doubler).Doubled().ID(); got != want {
			t.Errorf("%s doubled: %s, want %s", spec, got, want)
		}
	}
}

// TestMinimalNormsOnMNIST: on the zoo CNN the minimal norms are ordered as
// the attacks' strength says: FMN, which minimises the L2 norm, finds smaller
// L2 perturbations than DeepFool's first crossing on most samples, and the
// adversarially trained model needs clearly larger L∞ perturbations (FMN)
// than the undefended one.
func TestMinimalNormsOnMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("attacks the zoo CNN")
	}
	const n = 16
	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{X: samplesOf(t, d), Labels: d.Labels, Index: all(n)}
	cnn := zooModel(t, "mnist-cnn")
	median := func(m models.Model, spec string) (float64, []float64) {
		a, _ := Parse(spec)
		_, dist, _ := minimize(t, a, m, b)
		s := append([]float64(nil), dist...)
		sort.Float64s(s)
		return s[n/2], dist
	}
	_, df := median(cnn, "deepfool")
	_, fmn := median(cnn, "fmn:steps=50,norm=l2")
	smaller := 0
	for i := range df {
		if fmn[i] < df[i] {
			smaller++
		}
	}
	if smaller < 3*n/4 {
		t.Errorf("FMN found a smaller L2 perturbation than DeepFool on %d of %d samples: fmn %v deepfool %v", smaller, n, fmn, df)
	}
	plain, _ := median(cnn, "fmn:steps=50")
	robust, _ := median(zooModel(t, "mnist-cnn-adv"), "fmn:steps=50")
	t.Logf("FMN-L∞ median minimal norm: undefended %.3f, adversarially trained %.3f", plain, robust)
	if robust < plain+0.1 {
		t.Errorf("FMN-L∞ median minimal norm %.3f on the adversarially trained CNN, %.3f undefended", robust, plain)
	}
}
