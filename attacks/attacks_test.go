package attacks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
	"github.com/advcheck/advcheck/models"
)

const testdata = "../testdata"

func openModel(t testing.TB, name string) *models.Classifier {
	t.Helper()
	m, err := models.Open(filepath.Join(testdata, "models", name+".onnx"), models.Contract{}, models.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randomBatch(m models.Model, n int, seed uint64) Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	spec := m.Spec()
	b := Batch{X: make([]float32, n*spec.Size()), Labels: make([]int, n), Index: make([]int, n)}
	for i := range b.X {
		b.X[i] = float32(rng.Float64())
		if rng.IntN(4) == 0 {
			b.X[i] = float32(rng.IntN(2)) // values at the bounds, as in MNIST
		}
	}
	for i := range b.Labels {
		b.Labels[i] = rng.IntN(spec.Classes)
		b.Index[i] = 1000 + 7*i
	}
	return b
}

// Small budgets keep the invariant tests fast; the definitions are the same.
var quick = []string{
	"fgsm", "fgsm:norm=l2", "fgm", "fgsm:target=ll", "bim", "pgd:steps=5", "pgd:steps=5,norm=l2,restarts=2",
	"pgd:steps=5,target=random", "pgd:steps=4,loss=margin", "mifgsm:steps=5", "apgd-ce:iters=10",
	"apgd-dlr:iters=10,norm=l2", "apgd-t:iters=5,targets=3", "square:queries=30", "noise-uniform:draws=3",
	"noise-gaussian:draws=3,norm=l2", "autoattack:iters=5,targets=2,queries=20",
	"autoattack:iters=4,targets=2,queries=15,norm=l2", "autoattack:version=rand,iters=4,eot=2", "autoattack:iters=4,targets=2,queries=15,norm=l1", "apgd-ce:iters=5,eot=3",
	"square:queries=30,norm=l2", "square:queries=20,norm=l2,restarts=2,loss=ce",
	"fab:iters=5", "fab:iters=4,norm=l2,restarts=2", "fab:iters=4,norm=l1,restarts=2", "fab-t:iters=4,targets=2,norm=l1", "fab-t:iters=5,targets=2", "fab-t:iters=3,targets=2,restarts=2,norm=l2",
	"apgd-ce:iters=10,norm=l1", "apgd-t:iters=5,targets=3,norm=l1,large_eps=true", "apgd-ce:iters=6,norm=l1,large_eps=true,restarts=2",
	"apgd-dlr:iters=8,norm=l1,eot=2", "square:queries=30,norm=l1", "square:queries=20,norm=l1,restarts=2,loss=ce",
}

// TestInvariants: for every attack, norm and eps, the adversarial points lie
// in the bounds and in the eps-ball, and eps = 0 returns the input.
func TestInvariants(t *testing.T) {
	ctx := context.Background()
	m := openModel(t, "view_chain")
	size := m.Spec().Size()
	b := randomBatch(m, 6, 1)
	for _, spec := range quick {
		a, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, eps := range []float64{0, 0.05, 0.3, 2} {
			adv := make([]float32, len(b.X))
			res := &Result{Queries: make([]int, b.Len())}
			if err := a.Run(ctx, m, b, eps, Seeds{Seed: 1, ID: a.ID()}, adv, res); err != nil {
				t.Fatalf("%s eps %v: %v", spec, eps, err)
			}
			for i := 0; i < b.Len(); i++ {
				x, xa := b.X[i*size:(i+1)*size], adv[i*size:(i+1)*size]
				d := make([]float32, size)
				for q := range x {
					if xa[q] < 0 || xa[q] > 1 || xa[q] != xa[q] {
						t.Fatalf("%s eps %v: value %v outside [0, 1]", spec, eps, xa[q])
					}
					d[q] = xa[q] - x[q]
				}
				if dist := a.Norm().Dist(d); dist > eps+1e-6 {
					t.Fatalf("%s eps %v: sample %d at distance %v", spec, eps, i, dist)
				}
			}
			if eps == 0 && !reflect.DeepEqual(adv, b.X) {
				t.Errorf("%s: eps 0 changed the input", spec)
			}
			if eps > 0 && res.Queries[0] == 0 {
				t.Errorf("%s: no queries counted", spec)
			}
		}
	}
}

// TestBatchIndependence: a sample's result does not depend on its
// batch-mates, its position or the batch size — randomness comes from its
// global index.
func TestBatchIndependence(t *testing.T) {
	ctx := context.Background()
	m := openModel(t, "view_chain")
	size := m.Spec().Size()
	b := randomBatch(m, 5, 2)
	for _, spec := range []string{"pgd:steps=5", "apgd-ce:iters=10", "square:queries=25", "noise-uniform:draws=3", "pgd:steps=3,target=random",
		"fab:iters=5,restarts=2", "fab-t:iters=4,targets=3,restarts=2,norm=l2", "square:queries=25,norm=l2",
		"apgd-ce:iters=10,norm=l1,large_eps=true,restarts=2", "apgd-t:iters=5,targets=3,norm=l1", "square:queries=25,norm=l1"} {
		a, _ := Parse(spec)
		full := make([]float32, len(b.X))
		if err := a.Run(ctx, m, b, 0.2, Seeds{Seed: 3, ID: a.ID()}, full, nil); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{4, 1} {
			one := Batch{X: b.X[i*size : (i+1)*size], Labels: b.Labels[i : i+1], Index: b.Index[i : i+1]}
			adv := make([]float32, size)
			if err := a.Run(ctx, m, one, 0.2, Seeds{Seed: 3, ID: a.ID()}, adv, nil); err != nil {
				t.Fatal(err)
			}
			for q := range adv {
				if math.Abs(float64(adv[q]-full[i*size+q])) > 1e-5 {
					t.Fatalf("%s: sample %d differs alone and in its batch", spec, i)
				}
			}
		}
	}
}

// TestTargetedRaisesTarget: targeted attacks raise the target's probability.
func TestTargetedRaisesTarget(t *testing.T) {
	ctx := context.Background()
	m := openModel(t, "view_chain")
	b := randomBatch(m, 8, 3)
	k := m.Spec().Classes
	clean := make([]float32, b.Len()*k)
	if err := m.Logits(ctx, b.X, b.Len(), clean); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"fgsm:target=next", "pgd:steps=10,target=next"} {
		a, _ := Parse(spec)
		adv := make([]float32, len(b.X))
		res := &Result{}
		if err := a.Run(ctx, m, b, 0.05, Seeds{ID: a.ID()}, adv, res); err != nil {
			t.Fatal(err)
		}
		after := make([]float32, len(clean))
		if err := m.Logits(ctx, adv, b.Len(), after); err != nil {
			t.Fatal(err)
		}
		for i, tgt := range res.Targets {
			if tgt != (b.Labels[i]+1)%k {
				t.Fatalf("%s: target %d for label %d", spec, tgt, b.Labels[i])
			}
			if argmax(clean[i*k:(i+1)*k]) == tgt {
				continue // already there: the attack stops at once
			}
			if p0, p1 := prob(clean[i*k:(i+1)*k], tgt), prob(after[i*k:(i+1)*k], tgt); p1 <= p0 {
				t.Errorf("%s: sample %d target probability %v → %v", spec, i, p0, p1)
			}
		}
	}
}

func prob(row []float32, c int) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	s := 0.0
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return math.Exp(float64(row[c])-m) / s
}

func TestParse(t *testing.T) {
	a, err := Parse("PGD: steps=100, restarts=5")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != "pgd:restarts=5,steps=100" {
		t.Errorf("ID %q", a.ID())
	}
	p := a.Params()
	if p["steps"] != 100 || p["rel_step"] != 2.5 || p["random_start"] != true || p["norm"] != "linf" || p["loss"] != "ce" {
		t.Errorf("params %v", p)
	}
	if a, _ := Parse("pgd"); a.ID() != "pgd" {
		t.Errorf("default ID %q", a.ID())
	}
	if a, _ := Parse("pgd:step=2/255"); math.Abs(a.Params()["step"].(float64)-2.0/255) > 1e-15 {
		t.Errorf("fractional step %v", a.Params()["step"])
	}
	for spec, want := range map[string]string{
		"pgb":                    "unknown attack",
		"pgd:stepz=3":            `no parameter "stepz"`,
		"pgd:steps=x":            "want an integer",
		"pgd:steps":              "key=value",
		"pgd:steps=0":            "must be positive",
		"pgd:norm=l1":            "want linf or l2",
		"apgd-ce:norm=l3":        "want linf, l2 or l1",
		"apgd-ce:large_eps=true": "large_eps needs norm=l1",
		"fgsm:target=banana":     "want random, ll, next",
		"apgd-ce:loss=margin":    "ce or dlr",
		"pgd:steps=1,steps=2":    "given twice",
	} {
		_, err := Parse(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", spec, err, want)
		}
	}
	if len(Docs()) != len(Names()) {
		t.Error("docs and names differ")
	}
}

// The APGD checkpoints for 100 iterations, from p₀ = 0, p₁ = 0.22,
// p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06) (Croce & Hein 2020, §3.2).
func TestAPGDCheckpoints(t *testing.T) {
	want := []int{22, 41, 57, 70, 80, 87, 93, 99}
	if got := Checkpoints(100); !reflect.DeepEqual(got, want) {
		t.Errorf("Checkpoints(100) = %v, want %v", got, want)
	}
	// The same from the real-valued recursion.
	var p []float64 = []float64{0, 0.22}
	for p[len(p)-1] < 1 {
		j := len(p) - 1
		p = append(p, p[j]+math.Max(p[j]-p[j-1]-0.03, 0.06))
	}
	for i, w := range want {
		if c := int(math.Ceil(p[i+1]*100 - 1e-9)); c != w {
			t.Errorf("checkpoint %d: recursion gives %d, implementation %d", i+1, c, w)
		}
	}
}

// The Square attack's schedule for p (Andriushchenko et al. 2020, App. and
// the reference code): halvings after iterations 10, 50, 200, 500, 1000, 2000,
// 4000, 6000, 8000.
func TestSquareSchedule(t *testing.T) {
	cases := map[int]float64{0: 0.8, 10: 0.8, 11: 0.4, 50: 0.4, 51: 0.2, 200: 0.2, 201: 0.1, 500: 0.1, 501: 0.05, 1001: 0.025, 2001: 0.0125, 4001: 0.00625, 6001: 0.003125, 8001: 0.0015625}
	for it, want := range cases {
		if got := SquareP(it, 0.8); math.Abs(got-want) > 1e-15 {
			t.Errorf("SquareP(%d) = %v, want %v", it, got, want)
		}
	}
}

// The L2 and L1 Square attack's window patterns equal the reference code's
// (testdata/gen_square_golden.py), including even and degenerate sizes.
func TestSquareEta(t *testing.T) {
	for _, s := range []int{1, 3, 4, 5, 9, 28} {
		for name, f := range map[string]func(int) []float64{"eta": SquareEta, "eta_l1": SquareEtaL1} {
			want := golden(t, "square", fmt.Sprintf("%s_%d", name, s)).Float64s()
			got := f(s)
			if len(got) != len(want) {
				t.Fatalf("%s(%d): %d values, want %d", name, s, len(got), len(want))
			}
			for i := range got {
				// The reference computes in float32.
				if math.Abs(got[i]-want[i]) > 1e-7*(1+math.Abs(want[i])*10) {
					t.Fatalf("%s(%d)[%d] = %v, reference %v", name, s, i, got[i], want[i])
				}
			}
		}
	}
}

// The AutoAttack versions run the reference's attacks in its order with its
// budgets (autoattack.py, set_version).
func TestAutoAttackStages(t *testing.T) {
	for spec, want := range map[string][]string{
		"autoattack":              {"apgd-ce:iters=100,restarts=1,eot=1", "apgd-t:targets=9,iters=100,restarts=1", "fab-t:targets=9,iters=100,restarts=1,norm=linf", "square:queries=5000,p_init=0.8,norm=linf"},
		"autoattack:norm=l2":      {"apgd-ce:iters=100,restarts=1,eot=1", "apgd-t:targets=9,iters=100,restarts=1", "fab-t:targets=9,iters=100,restarts=1,norm=l2", "square:queries=5000,p_init=0.8,norm=l2"},
		"autoattack:version=rand": {"apgd-ce:iters=100,restarts=1,eot=20", "apgd-dlr:iters=100,restarts=1,eot=20"},
		"autoattack:norm=l1": {"apgd-ce:iters=100,restarts=5,eot=1,large_eps=true,norm=l1", "apgd-t:targets=5,iters=100,restarts=1,large_eps=true,norm=l1",
			"fab-t:targets=9,iters=100,restarts=1,norm=l1", "square:queries=5000,p_init=0.8,norm=l1"},
		"autoattack:norm=l1,version=rand": {"apgd-ce:iters=100,restarts=1,eot=20,large_eps=false,norm=l1", "apgd-dlr:iters=100,restarts=1,eot=20,norm=l1"},
		"autoattack:norm=l1,targets=3":    {"apgd-ce:restarts=5", "apgd-t:targets=3", "fab-t:targets=3", "square:norm=l1"},
		"autoattack:targets=20,iters=7":   {"apgd-ce:iters=7,restarts=1,eot=1", "apgd-t:targets=9,iters=7,restarts=1", "fab-t:targets=9,iters=7,restarts=1,norm=linf", "square:queries=5000,p_init=0.8,norm=linf"},
	} {
		a, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		stages := a.(*AutoAttack).Stages(10)
		if len(stages) != len(want) {
			t.Fatalf("%s: %d stages, want %d", spec, len(stages), len(want))
		}
		for i, st := range stages {
			name, kv, _ := strings.Cut(want[i], ":")
			if st.Name() != name {
				t.Errorf("%s stage %d: %s, want %s", spec, i, st.Name(), name)
			}
			p := st.Params()
			for _, f := range strings.Split(kv, ",") {
				k, v, _ := strings.Cut(f, "=")
				if fmt.Sprint(p[k]) != v {
					t.Errorf("%s stage %s: %s=%v, want %s", spec, name, k, p[k], v)
				}
			}
		}
	}
	if _, err := Parse("autoattack:version=plus"); err == nil || !strings.Contains(err.Error(), "want standard or rand") {
		t.Errorf("version=plus: %v", err)
	}
}

func TestTooFewClasses(t *testing.T) {
	m := openModel(t, "view_chain")
	b := randomBatch(m, 2, 4)
	a, _ := Parse("apgd-t:targets=10")
	err := a.Run(context.Background(), m, b, 0.1, Seeds{}, make([]float32, len(b.X)), nil)
	if err == nil || !strings.Contains(err.Error(), "needs at least 11 classes") {
		t.Errorf("apgd-t with 10 targets on 10 classes: %v", err)
	}
}

func golden(t *testing.T, dir, name string) *npy.Array {
	a, err := npy.ReadFile(filepath.Join(testdata, "golden", dir, name+".npy"), npy.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// IBM ART's own test fixture and the numbers its test suite asserts
// (tests/attacks/evasion/test_fast_gradient.py): FGSM L∞ and the L2 fast
// gradient method at eps 1.0, labels = the model's own predictions.
func TestARTFixture(t *testing.T) {
	ctx := context.Background()
	m := openModel(t, "art_mnist")
	if m.Info().OutputKind != "probabilities" {
		t.Fatalf("output kind %s", m.Info().OutputKind)
	}
	xa := golden(t, "art_mnist", "x")
	x := xa.Float32s()
	n := xa.Shape[0]
	preds := func(v []float32) []int {
		logits := make([]float32, n*10)
		if err := m.Logits(ctx, v, n, logits); err != nil {
			t.Fatal(err)
		}
		out := make([]int, n)
		for i := range out {
			out[i] = argmax(logits[i*10 : (i+1)*10])
		}
		return out
	}
	clean := preds(x)
	if want := []int{7, 1, 1, 4, 4, 1, 4, 4, 4, 4, 4}; !reflect.DeepEqual(clean, want) {
		t.Fatalf("clean predictions %v, ART asserts %v", clean, want)
	}
	b := Batch{X: x, Labels: clean, Index: all(n)}
	for _, c := range []struct {
		spec     string
		want     []int
		meanDiff float64
	}{
		{"fgsm", []int{4, 4, 4, 7, 7, 4, 7, 2, 2, 3, 0}, 0.2346725},
		{"fgm", []int{7, 2, 4, 4, 4, 7, 7, 4, 0, 4, 4}, 0.007636416},
	} {
		a, _ := Parse(c.spec)
		adv := make([]float32, len(x))
		if err := a.Run(ctx, m, b, 1.0, Seeds{}, adv, nil); err != nil {
			t.Fatal(err)
		}
		if got := preds(adv); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: predictions %v, ART asserts %v", c.spec, got, c.want)
		}
		s := 0.0
		for i := range adv {
			s += float64(adv[i] - x[i])
		}
		if mean := s / float64(len(adv)); math.Abs(mean-c.meanDiff) > 1e-5 {
			t.Errorf("%s: mean of x_adv − x = %v, ART asserts %v", c.spec, mean, c.meanDiff)
		}
	}
}

func TestDoubled(t *testing.T) {
	for spec, want := range map[string]string{"pgd": "pgd:steps=20", "bim:steps=7,norm=l2": "bim:norm=l2,steps=14", "apgd-t": "apgd-t:iters=200", "mifgsm:decay=0.5": "mifgsm:decay=0.5,steps=20"} {
		a, _ := Parse(spec)
		if got := a.(Doubler).Doubled().ID(); got != want {
			t.Errorf("%s doubled: %s, want %s", spec, got, want)
		}
	}
}

// Iteration counts are bounded when a spec is read, each at its documented
// bound (the bound itself is accepted); before, pgd:steps=100000000000 was
// accepted and ran until --timeout. The convergence check's doubled attack
// may exceed the bound by its factor of two.
func TestIterationBounds(t *testing.T) {
	for spec, want := range map[string]string{
		"pgd:steps=100000000000":      "pgd: steps=100000000000: at most 100000",
		"bim:steps=100001":            "bim: steps=100001: at most 100000",
		"mifgsm:steps=100001":         "steps=100001: at most 100000",
		"pgd:restarts=1001":           "pgd: restarts=1001: at most 1000",
		"apgd-ce:iters=1000000":       "apgd-ce: iters=1000000: at most 100000",
		"apgd-t:restarts=5000":        "restarts=5000: at most 1000",
		"square:queries=1000001":      "square: queries=1000001: at most 1000000",
		"square:restarts=1001":        "restarts=1001: at most 1000",
		"autoattack:queries=10000000": "queries=10000000: at most 1000000",
		"autoattack:iters=200000":     "iters=200000: at most 100000",
		"noise-uniform:draws=100001":  "draws=100001: at most 100000",
	} {
		_, err := Parse(spec)
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", spec, err, want)
		}
	}
	for _, spec := range []string{"pgd:steps=100000,restarts=1000", "apgd-ce:iters=100000", "square:queries=1000000", "noise-gaussian:draws=100000"} {
		if _, err := Parse(spec); err != nil {
			t.Errorf("Parse(%q) at the bounds: %v", spec, err)
		}
	}
	a, _ := Parse("pgd:steps=100000")
	if got := a.(Doubler).Doubled().ID(); got != "pgd:steps=200000" {
		t.Errorf("pgd:steps=100000 doubled: %s", got)
	}
	for _, d := range Docs() {
		for _, p := range d.Params {
			if want := iterationLimits[p.Name]; want != p.Max {
				t.Errorf("%s %s: documented bound %d, want %d", d.Name, p.Name, p.Max, want)
			}
		}
	}
}
