package certify

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/models"
)

// signModel is a one-value, two-class model: class 1 when x > t, else 0.
// Under noise N(0, σ²) the smoothed classifier picks class 1 with
// probability Φ((x − t)/σ). It counts its forward passes.
type signModel struct {
	t     float32
	calls int
	rows  int
}

func (m *signModel) Spec() models.InputSpec {
	return models.InputSpec{Shape: []int{1}, Lo: -10, Hi: 10, Classes: 2}
}

func (m *signModel) Logits(_ context.Context, x []float32, n int, dst []float32) error {
	m.calls++
	m.rows += n
	for i := 0; i < n; i++ {
		dst[2*i], dst[2*i+1] = 0, x[i]-m.t
	}
	return nil
}

func (m *signModel) LossGradient(context.Context, []float32, int, models.Objective, []float32, []float32, []float64) error {
	panic("not used")
}

// constModel always predicts class c of k.
type constModel struct{ c, k int }

func (m constModel) Spec() models.InputSpec {
	return models.InputSpec{Shape: []int{3}, Lo: 0, Hi: 1, Classes: m.k}
}

func (m constModel) Logits(_ context.Context, _ []float32, n int, dst []float32) error {
	for i := 0; i < n; i++ {
		for j := 0; j < m.k; j++ {
			dst[i*m.k+j] = 0
		}
		dst[i*m.k+m.c] = 1
	}
	return nil
}

func (constModel) LossGradient(context.Context, []float32, int, models.Objective, []float32, []float32, []float64) error {
	panic("not used")
}

// TestClopperPearsonLower checks the bound against scipy 1.10.1's
// beta.ppf(alpha, k, n−k+1) (the lower end of statsmodels'
// proportion_confint(k, n, 2·alpha, "beta"), which Cohen et al.'s code calls).
func TestClopperPearsonLower(t *testing.T) {
	for _, c := range []struct {
		k, n  int
		alpha float64
		want  float64
	}{
		{10000, 10000, 0.001, 0.9993094630025899},
		{9990, 10000, 0.001, 0.9975883080325683},
		{9000, 10000, 0.001, 0.8904097336749064},
		{60, 100, 0.001, 0.4409842652212994},
		{1, 1, 0.05, 0.05},
		{5, 10, 0.05, 0.2224411010081294},
		{1, 10, 0.05, 0.005116196891823702},
		{0, 10, 0.05, 0},
	} {
		got := ClopperPearsonLower(c.k, c.n, c.alpha)
		if math.Abs(got-c.want) > 1e-12*math.Max(1, c.want) {
			t.Errorf("ClopperPearsonLower(%d, %d, %g) = %.17g, want %.17g", c.k, c.n, c.alpha, got, c.want)
		}
	}
}

// TestClopperPearsonClosedForms: with k = n the bound solves p^n = alpha;
// with k = n − 1 it solves n·p^(n−1) − (n−1)·p^n = alpha (the CDF of
// Beta(n−1, 2)), found here by bisection.
func TestClopperPearsonClosedForms(t *testing.T) {
	for _, n := range []int{2, 10, 100, 10000, 100000} {
		for _, alpha := range []float64{0.001, 0.05} {
			if got, want := ClopperPearsonLower(n, n, alpha), math.Pow(alpha, 1/float64(n)); got != want {
				t.Errorf("k = n = %d, alpha %g: %.17g, want %.17g", n, alpha, got, want)
			}
			fn := float64(n)
			cdf := func(p float64) float64 { return fn*math.Pow(p, fn-1) - (fn-1)*math.Pow(p, fn) }
			lo, hi := 0.0, 1.0
			for range 200 {
				mid := (lo + hi) / 2
				if cdf(mid) < alpha {
					lo = mid
				} else {
					hi = mid
				}
			}
			if got := ClopperPearsonLower(n-1, n, alpha); math.Abs(got-lo) > 1e-10 {
				t.Errorf("k = n−1 = %d, alpha %g: %.17g, want %.17g", n-1, alpha, got, lo)
			}
		}
	}
}

// TestBinomialTestHalf checks the p-values against scipy 1.10.1's
// binomtest(k, n, 0.5).pvalue.
func TestBinomialTestHalf(t *testing.T) {
	for _, c := range []struct {
		k, n int
		want float64
	}{
		{60, 100, 0.05688793364098088},
		{40, 100, 0.05688793364098088},
		{7, 10, 0.34375},
		{58, 100, 0.13321061920721386},
		{500, 1000, 1},
		{532, 1000, 0.04629119736049817},
		{3, 3, 0.25},
		{0, 0, 1},
	} {
		if got := BinomialTestHalf(c.k, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("BinomialTestHalf(%d, %d) = %.17g, want %.17g", c.k, c.n, got, c.want)
		}
	}
}

// TestCertifyHandComputed: a model that always answers class 2 gives
// n_A = n, so p_A = alpha^(1/n) and the radius is σ·Φ⁻¹(p_A); for n =
// 10,000, alpha = 0.001 and σ = 0.25, scipy gives p_A =
// 0.9993094630025899 and the radius 0.7996443786845846.
func TestCertifyHandComputed(t *testing.T) {
	s := &Smoothing{Sigma: 0.25, N0: 100, N: 10000, Alpha: 0.001, Batch: 512, Seed: 1, ID: "smoothing"}
	x := []float32{0.1, 0.5, 0.9, 0, 0, 0}
	got, err := s.Certify(context.Background(), constModel{2, 4}, x, []int{0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if c.Class != 2 || c.CountA != 10000 || math.Abs(c.PLower-0.9993094630025899) > 1e-15 || math.Abs(c.Radius-0.7996443786845846) > 1e-12 {
			t.Errorf("certificate %+v, want class 2, n_A 10000, p_A 0.9993094630025899, radius 0.7996443786845846", c)
		}
	}
}

// TestCertifyCounts: on the sign model the test replays each sample's
// noise streams to count the draws past the threshold, and the
// certificate must rest on exactly those counts; the counts must also be
// those of Gaussian noise of the given σ (within 5 standard deviations of
// n·Φ((x − t)/σ)).
func TestCertifyCounts(t *testing.T) {
	s := &Smoothing{Sigma: 0.5, N0: 50, N: 4000, Alpha: 0.001, Batch: 300, Seed: 7, ID: "smoothing:sigma=0.5"}
	m := &signModel{t: 0.2}
	x := []float32{1.2, -0.6, 0.35, 0.2}
	index := []int{5, 17, 3, 40}
	got, err := s.Certify(context.Background(), m, x, index, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (len(x)*(s.N0+s.N) + s.Batch - 1) / s.Batch; m.rows != len(x)*(s.N0+s.N) || m.calls > want+1 {
		t.Errorf("%d forwards of %d rows, want %d rows in about %d batches", m.calls, m.rows, len(x)*(s.N0+s.N), want)
	}
	for j, c := range got {
		count := func(phase, draws int) int {
			rng := s.Stream(index[j], phase)
			k := 0
			for range draws {
				if x[j]+float32(s.Sigma*rng.NormFloat64()) > m.t {
					k++
				}
			}
			return k
		}
		sel, est := count(0, s.N0), count(1, s.N)
		cA, nA := 1, est
		if 2*sel <= s.N0 { // class 0 wins the selection, ties included (the first maximum)
			cA, nA = 0, s.N-est
		}
		pA := ClopperPearsonLower(nA, s.N, s.Alpha)
		if c.CountA != nA || c.PLower != pA {
			t.Errorf("sample %d: n_A %d, p_A %v; the replayed noise gives %d, %v", j, c.CountA, c.PLower, nA, pA)
		}
		if pA > 0.5 {
			if c.Class != cA || c.Radius != s.Sigma*distuv.UnitNormal.Quantile(pA) {
				t.Errorf("sample %d: class %d radius %v, want %d and σΦ⁻¹(%v)", j, c.Class, c.Radius, cA, pA)
			}
		} else if c.Class != Abstain || c.Radius != 0 {
			t.Errorf("sample %d: p_A %v ≤ 1/2 but class %d radius %v, want an abstention", j, pA, c.Class, c.Radius)
		}
		p1 := distuv.UnitNormal.CDF((float64(x[j]) - float64(m.t)) / s.Sigma)
		mean, sd := float64(s.N)*p1, math.Sqrt(float64(s.N)*p1*(1-p1))
		if d := math.Abs(float64(est) - mean); d > 5*sd+1 {
			t.Errorf("sample %d: %d of %d draws past the threshold, want about %.0f ± %.1f", j, est, s.N, mean, sd)
		}
	}
	// x = 1.2 lies 2σ past the threshold: certified for class 1 with a
	// radius below its distance 1.0 to the threshold, the true robust radius.
	if c := got[0]; c.Class != 1 || !(c.Radius > 0.5 && c.Radius < 1.0) {
		t.Errorf("sample 0: %+v, want class 1 with a radius in (0.5, 1)", c)
	}
	// x = 0.2 sits on the threshold: a fair coin, and g abstains.
	if c := got[3]; c.Class != Abstain || c.Radius != 0 || c.PLower > 0.5 {
		t.Errorf("sample 3: %+v, want an abstention", c)
	}
}

// TestPredictAbstains: PREDICT abstains on a fair coin (x on the
// threshold) and answers far from it.
func TestPredictAbstains(t *testing.T) {
	s := &Smoothing{Sigma: 0.25, N0: 10, N: 1000, Alpha: 0.001, Batch: 256, Seed: 3, ID: "smoothing"}
	got, err := s.Predict(context.Background(), &signModel{}, []float32{0, 1, -1}, []int{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != Abstain || got[1] != 1 || got[2] != 0 {
		t.Errorf("predictions %v, want [−1 1 0]", got)
	}
}

// TestCertifyDeterministic: on the zoo CNN and real MNIST digits, a
// sample's certificate does not depend on the forward batch or on which
// samples it is certified with; another seed gives other noise.
func TestCertifyDeterministic(t *testing.T) {
	m, err := models.Load("zoo:mnist-cnn", models.Contract{}, models.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	x, err := d.Samples(0, 4)
	if err != nil {
		t.Fatal(err)
	}
	size := m.Spec().Size()
	index := []int{0, 1, 2, 3}
	run := func(batch int, seed uint64, x []float32, index []int) []SmoothedCertificate {
		s := &Smoothing{Sigma: 1, N0: 10, N: 100, Alpha: 0.001, Batch: batch, Seed: seed, ID: "smoothing:sigma=1"}
		c, err := s.Certify(context.Background(), m, x, index, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ref := run(64, 0, x, index)
	for _, b := range []int{5, 1000} {
		for j, c := range run(b, 0, x, index) {
			if c != ref[j] {
				t.Errorf("batch %d, sample %d: %+v, batch 64 gave %+v", b, j, c, ref[j])
			}
		}
	}
	// Sample 2 alone, at its global index, gets its certificate of the batch.
	if c := run(13, 0, x[2*size:3*size], index[2:3])[0]; c != ref[2] {
		t.Errorf("sample 2 alone: %+v, with its batch-mates %+v", c, ref[2])
	}
	// σ = 1 makes the classes uncertain, so the counts tell the noise apart.
	other, same := run(64, 1, x, index), 0
	for j := range other {
		if other[j].CountA == ref[j].CountA {
			same++
		}
	}
	if same == len(ref) {
		t.Errorf("seed 1 gave the counts of seed 0: %+v", other)
	}
	for j, c := range ref {
		if c.Class != Abstain && c.Class != d.Labels[j] {
			t.Logf("sample %d: smoothed class %d, label %d", j, c.Class, d.Labels[j])
		}
	}
}
