package certify

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/advcheck/advcheck/models"
)

// Smoothing is randomized smoothing (Cohen, Rosenfeld & Kolter 2019,
// "Certified Adversarial Robustness via Randomized Smoothing"). It certifies
// the smoothed classifier
//
//	g(x) = argmax_c P(f(x + ε) = c),  ε ~ N(0, σ²I),
//
// built from the model f, not f itself: a radius R says that g's prediction
// is the same for every x' with ‖x' − x‖₂ < R, with probability at least
// 1 − Alpha over the noise. Only forward passes of f are needed, so it
// applies to every model. The noise is added in pixel space and not
// clipped to the model's bounds, as in the paper.
//
// The noise of each sample is drawn from a stream derived from Seed, ID and
// the sample's global index (see Stream), in draw order, so a sample's
// certificate is the same whatever batch, thread or shard it is computed in.
type Smoothing struct {
	Sigma float64 // σ of the Gaussian noise, in pixel units (> 0)
	N0    int     // selection samples: the noise draws that pick the class cA
	N     int     // estimation samples: the draws that bound P(f(x+ε) = cA)
	Alpha float64 // failure probability of the certificate, in (0, 1)
	Batch int     // noisy inputs per forward pass (≥ 1)
	Seed  uint64  // the run's seed
	ID    string  // names the certifier in the noise streams, e.g. its spec
}

// SmoothedCertificate is the outcome of CERTIFY on one sample.
type SmoothedCertificate struct {
	Class  int     // the smoothed prediction cA, or −1 when g abstains
	Radius float64 // the certified L2 radius σ·Φ⁻¹(pA), 0 when g abstains
	PLower float64 // the Clopper-Pearson lower bound pA on P(f(x+ε) = cA)
	CountA int     // draws of the N estimation samples classified as cA
}

// Abstain is the class of a sample the smoothed classifier abstains on.
const Abstain = -1

// Validate checks the parameters.
func (s *Smoothing) Validate() error {
	switch {
	case !(s.Sigma > 0) || math.IsInf(s.Sigma, 0):
		return fmt.Errorf("sigma %v: want a positive number", s.Sigma)
	case s.N0 < 1:
		return fmt.Errorf("n0 %d: want at least 1", s.N0)
	case s.N < 1:
		return fmt.Errorf("n %d: want at least 1", s.N)
	case !(s.Alpha > 0 && s.Alpha < 1):
		return fmt.Errorf("alpha %v: want 0 < alpha < 1", s.Alpha)
	case s.Batch < 1:
		return fmt.Errorf("batch %d: want at least 1", s.Batch)
	}
	return nil
}

// Phases of the noise streams: selection (n0 draws) and estimation (n).
const (
	phaseSelect   = 0
	phaseEstimate = 1
	phasePredict  = 2
)

// Stream returns the noise stream of one sample (by global index) in one
// phase of the algorithm: independent of batch-mates, batch size, threads
// and shards.
func (s *Smoothing) Stream(index, phase int) *rand.Rand {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], s.Seed)
	h.Write(b[:])
	h.Write([]byte(s.ID))
	h.Write([]byte{0})
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(s.Sigma))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(index))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(phase))
	h.Write(b[:])
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
}

// Certify runs CERTIFY (Cohen et al. 2019, Algorithm 1 "certify") on the n
// samples x (n × m.Spec().Size() float32 values, pixel space) whose global
// indices are index, and writes one certificate each into dst (nil means
// allocate). It returns dst.
func (s *Smoothing) Certify(ctx context.Context, m models.Model, x []float32, index []int, dst []SmoothedCertificate) ([]SmoothedCertificate, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("certify: smoothing: %w", err)
	}
	n := len(index)
	if size := m.Spec().Size(); len(x) != n*size {
		panic(fmt.Sprintf("certify: %d values for %d samples of %d", len(x), n, size))
	}
	if dst == nil {
		dst = make([]SmoothedCertificate, n)
	}
	if len(dst) != n {
		panic(fmt.Sprintf("certify: %d certificates for %d samples", len(dst), n))
	}
	sel, err := s.counts(ctx, m, x, index, s.N0, phaseSelect)
	if err != nil {
		return nil, err
	}
	est, err := s.counts(ctx, m, x, index, s.N, phaseEstimate)
	if err != nil {
		return nil, err
	}
	k := m.Spec().Classes
	for j := range dst {
		cA := argmaxInt(sel[j*k : (j+1)*k])
		nA := est[j*k+cA]
		pA := ClopperPearsonLower(nA, s.N, s.Alpha)
		c := SmoothedCertificate{Class: Abstain, PLower: pA, CountA: nA}
		if pA > 0.5 {
			c.Class, c.Radius = cA, s.Sigma*distuv.UnitNormal.Quantile(pA)
		}
		dst[j] = c
	}
	return dst, nil
}

// Predict runs PREDICT (Cohen et al. 2019, Algorithm 1 "predict"): the
// class of the smoothed classifier on each sample from N draws, or Abstain
// when the two-sided binomial test of the two most frequent classes' counts
// against p = 1/2 has a p-value above Alpha. With probability at least
// 1 − Alpha a class it returns is g's.
func (s *Smoothing) Predict(ctx context.Context, m models.Model, x []float32, index []int) ([]int, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("certify: smoothing: %w", err)
	}
	n := len(index)
	if size := m.Spec().Size(); len(x) != n*size {
		panic(fmt.Sprintf("certify: %d values for %d samples of %d", len(x), n, size))
	}
	counts, err := s.counts(ctx, m, x, index, s.N, phasePredict)
	if err != nil {
		return nil, err
	}
	k := m.Spec().Classes
	out := make([]int, n)
	for j := range out {
		c := counts[j*k : (j+1)*k]
		a := argmaxInt(c)
		b := -1
		for q := range c {
			if q != a && (b < 0 || c[q] > c[b]) {
				b = q
			}
		}
		nB := 0
		if b >= 0 {
			nB = c[b]
		}
		out[j] = a
		if BinomialTestHalf(c[a], c[a]+nB) > s.Alpha {
			out[j] = Abstain
		}
	}
	return out, nil
}

// counts classifies draws noisy copies of each sample and returns the
// n × Classes counts of the predicted classes. Rows of the forward passes
// are filled sample by sample in draw order, each sample's noise from its
// own stream, so the counts do not depend on the batch.
func (s *Smoothing) counts(ctx context.Context, m models.Model, x []float32, index []int, draws, phase int) ([]int, error) {
	spec := m.Spec()
	size, k := spec.Size(), spec.Classes
	n := len(index)
	counts := make([]int, n*k)
	if n == 0 {
		return counts, nil
	}
	rows := min(s.Batch, n*draws)
	buf := make([]float32, rows*size)
	logits := make([]float32, rows*k)
	owner := make([]int, rows)
	j, d := 0, 0 // the next (sample, draw) to fill
	rng := s.Stream(index[0], phase)
	sigma := s.Sigma
	for j < n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := 0
		for r < rows && j < n {
			xs, dst := x[j*size:(j+1)*size], buf[r*size:(r+1)*size]
			for q, v := range xs {
				dst[q] = v + float32(sigma*rng.NormFloat64())
			}
			owner[r] = j
			r++
			if d++; d == draws {
				j, d = j+1, 0
				if j < n {
					rng = s.Stream(index[j], phase)
				}
			}
		}
		if err := m.Logits(ctx, buf[:r*size], r, logits[:r*k]); err != nil {
			return nil, err
		}
		for q := 0; q < r; q++ {
			counts[owner[q]*k+argmaxF32(logits[q*k:(q+1)*k])]++
		}
	}
	return counts, nil
}

// ClopperPearsonLower returns the exact one-sided Clopper-Pearson lower
// confidence bound at level 1 − alpha on the success probability of a
// binomial with k successes in n trials: the alpha quantile of
// Beta(k, n − k + 1), and 0 when k = 0. (Cohen et al. compute it as the
// lower end of the two-sided interval at level 1 − 2·alpha.) It panics
// unless 0 ≤ k ≤ n, n ≥ 1 and 0 < alpha < 1.
func ClopperPearsonLower(k, n int, alpha float64) float64 {
	if k < 0 || k > n || n < 1 || !(alpha > 0 && alpha < 1) {
		panic(fmt.Sprintf("certify: Clopper-Pearson bound of %d in %d at alpha %v", k, n, alpha))
	}
	if k == 0 {
		return 0
	}
	if k == n {
		// Beta(n, 1) has CDF p^n: the quantile in closed form.
		return math.Pow(alpha, 1/float64(n))
	}
	return mathext.InvRegIncBeta(float64(k), float64(n-k+1), alpha)
}

// BinomialTestHalf returns the p-value of the two-sided exact binomial
// test of k successes in n trials against success probability 1/2 (as
// scipy.stats.binom_test(k, n, 0.5)): P(|X − n/2| ≥ |k − n/2|), X ~ Bin(n, 1/2).
// It is 1 when n = 0.
func BinomialTestHalf(k, n int) float64 {
	if k < 0 || k > n {
		panic(fmt.Sprintf("certify: binomial test of %d in %d", k, n))
	}
	if n == 0 || 2*k == n {
		return 1
	}
	hi := max(k, n-k)
	// P(X ≥ hi) = I_{1/2}(hi, n − hi + 1); the distribution is symmetric.
	p := 2 * mathext.RegIncBeta(float64(hi), float64(n-hi+1), 0.5)
	return min(p, 1)
}

func argmaxInt(v []int) int {
	best := 0
	for i, c := range v {
		if c > v[best] {
			best = i
		}
	}
	return best
}

func argmaxF32(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] || (math.IsNaN(float64(v)) && !math.IsNaN(float64(row[best]))) {
			best = j
		}
	}
	return best
}
