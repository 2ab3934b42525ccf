package reports

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/certify"
	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/models/ir"
)

// The certification methods (sweep --certify).
const (
	MethodIBP       = "ibp"       // interval bound propagation: the model itself, L∞
	MethodCROWN     = "crown"     // backward linear bounds: the model itself, L∞
	MethodSmoothing = "smoothing" // randomized smoothing: the smoothed classifier, L2
)

// What a certificate is about: the model under test, or the classifier
// randomized smoothing builds from it.
const (
	ClassifierModel    = "model"
	ClassifierSmoothed = "smoothed"
)

// Defaults and bounds of the smoothing parameters. Cohen et al. use n0 =
// 100, n = 100,000 and alpha = 0.001; advcheck's default n is 10,000, which
// caps the radius at σ·Φ⁻¹(0.001^(1/n)) ≈ 3.2σ instead of ≈ 3.8σ and costs a
// tenth of the forwards.
const (
	DefaultSigma = 0.25
	DefaultN0    = 100
	DefaultN     = 10_000
	DefaultAlpha = 0.001
	MaxSmoothing = 1_000_000 // n and n0: noisy forwards per sample
)

// CertifySpec is one certification method of a plan, with its parameters.
type CertifySpec struct {
	Method string
	// Smoothing parameters (MethodSmoothing only).
	Sigma float64
	N0, N int
	Alpha float64
}

// ParseCertify reads a --certify spec: ibp, crown, or
// smoothing[:sigma=S,n0=N0,n=N,alpha=A] (defaults 0.25, 100, 10000, 0.001).
func ParseCertify(spec string) (CertifySpec, error) {
	name, rest, _ := strings.Cut(strings.TrimSpace(spec), ":")
	name = strings.ToLower(strings.TrimSpace(name))
	c := CertifySpec{Method: name}
	kv := map[string]string{}
	if strings.TrimSpace(rest) != "" {
		for _, f := range strings.Split(rest, ",") {
			k, v, ok := strings.Cut(f, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return c, fmt.Errorf("%q: parameters are key=value", f)
			}
			if _, dup := kv[k]; dup {
				return c, fmt.Errorf("%s given twice", k)
			}
			kv[k] = strings.TrimSpace(v)
		}
	}
	switch name {
	case MethodIBP, MethodCROWN:
		for k := range kv {
			return c, fmt.Errorf("%s has no parameter %q", name, k)
		}
		return c, nil
	case MethodSmoothing:
	default:
		return c, fmt.Errorf("unknown method %q (have ibp, crown, smoothing)", name)
	}
	c.Sigma, c.N0, c.N, c.Alpha = DefaultSigma, DefaultN0, DefaultN, DefaultAlpha
	for k, v := range kv {
		var err error
		switch k {
		case "sigma":
			c.Sigma, err = strconv.ParseFloat(v, 64)
			if err == nil && !(c.Sigma > 0 && !math.IsInf(c.Sigma, 0)) {
				err = fmt.Errorf("want a positive number")
			}
		case "alpha":
			c.Alpha, err = strconv.ParseFloat(v, 64)
			if err == nil && !(c.Alpha > 0 && c.Alpha < 0.5) {
				err = fmt.Errorf("want 0 < alpha < 0.5")
			}
		case "n", "n0":
			var n int
			n, err = strconv.Atoi(v)
			if err == nil && (n < 1 || n > MaxSmoothing) {
				err = fmt.Errorf("want 1 to %d", MaxSmoothing)
			}
			if k == "n" {
				c.N = n
			} else {
				c.N0 = n
			}
		default:
			return c, fmt.Errorf("smoothing has no parameter %q (it has sigma, n0, n, alpha)", k)
		}
		if err != nil {
			return c, fmt.Errorf("smoothing: %s=%q: %v", k, v, err)
		}
	}
	return c, nil
}

// ID is the canonical spec: the method and every parameter that differs
// from its default, sorted, e.g. "smoothing:n=1000,sigma=0.5".
func (c CertifySpec) ID() string {
	if c.Method != MethodSmoothing {
		return c.Method
	}
	var parts []string
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if c.Alpha != DefaultAlpha {
		parts = append(parts, "alpha="+f(c.Alpha))
	}
	if c.N != DefaultN {
		parts = append(parts, "n="+strconv.Itoa(c.N))
	}
	if c.N0 != DefaultN0 {
		parts = append(parts, "n0="+strconv.Itoa(c.N0))
	}
	if c.Sigma != DefaultSigma {
		parts = append(parts, "sigma="+f(c.Sigma))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return c.Method
	}
	return c.Method + ":" + strings.Join(parts, ",")
}

// Norm is the distance the method certifies radii in.
func (c CertifySpec) Norm() attacks.Norm {
	if c.Method == MethodSmoothing {
		return attacks.L2
	}
	return attacks.Linf
}

// Classifier says what the certificates are about: ClassifierModel (IBP,
// CROWN) or ClassifierSmoothed (randomized smoothing).
func (c CertifySpec) Classifier() string {
	if c.Method == MethodSmoothing {
		return ClassifierSmoothed
	}
	return ClassifierModel
}

// Params returns the resolved parameters.
func (c CertifySpec) Params() map[string]any {
	if c.Method != MethodSmoothing {
		return map[string]any{}
	}
	return map[string]any{"sigma": c.Sigma, "n0": c.N0, "n": c.N, "alpha": c.Alpha}
}

// CertifyConfig is one certification method of a report's configuration.
type CertifyConfig struct {
	CertifyID  string         `json:"certify_id"`
	Method     string         `json:"method"`
	Norm       string         `json:"norm"`
	Classifier string         `json:"classifier"` // model or smoothed
	Params     map[string]any `json:"params"`
}

// Certificates are the per-sample certificates of one method, aligned
// with Samples.Index.
type Certificates struct {
	CertifyID string    `json:"certify_id"`
	Norm      string    `json:"norm"`
	Eps       []float64 `json:"eps"` // the radii of Norm in the grid, in grid order
	// Certified[e][i] is 1 when sample i's label is certified at Eps[e]
	// (IBP, CROWN; samples the model misclassifies are never certified).
	Certified [][]int `json:"certified,omitempty"`
	// StoppedBy[i] names the op that stopped the bound propagation on
	// sample i, "" when none did (IBP, CROWN).
	StoppedBy []string `json:"stopped_by,omitempty"`
	// Pred[i] is the smoothed classifier's class, −1 when it abstains, and
	// Radius[i] its certified L2 radius (0 when it abstains), rounded down
	// to float32 (smoothing).
	Pred   []int `json:"pred,omitempty"`
	Radius []F32 `json:"radius,omitempty"`
}

// smoothed reports whether the certificates come from randomized
// smoothing (a record of no samples may be either).
func (c *Certificates) smoothed() bool { return c.Pred != nil }

// at reports whether sample i, labelled label, is certified at Eps[e].
func (c *Certificates) at(e, i, label int) bool {
	if c.smoothed() {
		return c.Pred[i] == label && float64(c.Radius[i]) >= c.Eps[e]
	}
	return c.Certified[e][i] == 1
}

// CertifiedResult is the certified accuracy of one method at one radius:
// the fraction of all samples whose label is proved at that radius.
type CertifiedResult struct {
	CertifyID    string  `json:"certify_id"`
	Method       string  `json:"method"`
	Classifier   string  `json:"classifier"` // model or smoothed
	Norm         string  `json:"norm"`
	Eps          float64 `json:"eps"`
	EpsRequested string  `json:"eps_requested"`
	N            int     `json:"n"`
	NCertified   int     `json:"n_certified"`
	Accuracy     Num     `json:"accuracy"`
	AccuracyCI95 [2]Num  `json:"accuracy_ci95"`
	// NStopped counts samples an op without sound bounds stopped (IBP,
	// CROWN); NAbstained those the smoothed classifier abstained on.
	NStopped   int `json:"n_stopped"`
	NAbstained int `json:"n_abstained"`
}

// CertifiedBound is the lower end of the robust-accuracy interval at a
// worst-case row: the samples certified there by any method that
// certifies the model itself (IBP, CROWN).
type CertifiedBound struct {
	NCertified   int      `json:"n_certified"`
	Accuracy     Num      `json:"accuracy"`
	AccuracyCI95 [2]Num   `json:"accuracy_ci95"`
	Methods      []string `json:"methods"`
}

// RadiusSummary is the distribution of the certified L2 radii of a
// smoothing method over all samples: a sample's radius counts as 0 when
// the smoothed classifier abstains or is wrong.
type RadiusSummary struct {
	CertifyID  string `json:"certify_id"`
	N          int    `json:"n"`
	NCorrect   int    `json:"n_correct"` // smoothed class = label
	NWrong     int    `json:"n_wrong"`   // a class other than the label
	NAbstained int    `json:"n_abstained"`
	P25        Num    `json:"p25"`
	Median     Num    `json:"median"`
	P75        Num    `json:"p75"`
	Max        Num    `json:"max"`
}

// FlagCertifiedBroken: a sample certified at some radius was broken by an
// attack within that radius. A certificate and an attack contradict each
// other, so one of them is wrong: a bug, not a property of the model.
const FlagCertifiedBroken = "certified_broken"

// certifyEps returns the radii a method certifies at.
func (p *Plan) certifyEps(c CertifySpec) []Eps { return p.Eps[c.Norm()] }

// validateCertify checks the plan's certification methods.
func (p *Plan) validateCertify() error {
	seen := map[string]bool{}
	for _, c := range p.Certify {
		if seen[c.ID()] {
			return fmt.Errorf("certification %s is listed twice", c.ID())
		}
		seen[c.ID()] = true
		if len(p.certifyEps(c)) == 0 {
			return fmt.Errorf("certification %s is %s but no %s eps were given", c.ID(), c.Norm(), c.Norm())
		}
		if c.Classifier() == ClassifierModel && p.Bounds == nil {
			return fmt.Errorf("certification %s needs the model's graph", c.ID())
		}
	}
	if len(p.Certify) > 0 && p.isEmbedding() {
		return fmt.Errorf("task embedding: certification needs classes")
	}
	return nil
}

// BoundCertifier proves L∞ robustness of the model itself (IBP, CROWN).
type BoundCertifier interface {
	// CertifyLinf reports whether label is certified for the sample x (one
	// sample, pixel space) over the L∞ ball of radius eps intersected with
	// the model's bounds, and when not whether an op stopped the
	// propagation (stoppedBy, else "").
	CertifyLinf(ctx context.Context, method string, x []float32, eps float64, label int) (certified bool, stoppedBy string, err error)
}

// certifyBatch runs every certification method on the samples idx (pixels
// x, labels) and writes their certificates into out. Bound methods certify
// the samples in rows (those the model classifies correctly); smoothing
// certifies every sample, as the smoothed classifier may be right where
// the model is not.
func (p *Plan) certifyBatch(ctx context.Context, idx, rows, labels []int, x []float32, out *Samples) error {
	n, size := len(idx), p.Model.Spec().Size()
	for k, c := range p.Certify {
		cs := &out.Certified[k]
		eps := p.certifyEps(c)
		if c.Method == MethodSmoothing {
			sm := &certify.Smoothing{Sigma: c.Sigma, N0: c.N0, N: c.N, Alpha: c.Alpha, Batch: p.Batch, Seed: p.Seed, ID: c.ID()}
			got, err := sm.Certify(ctx, p.Model, x, idx, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", c.ID(), err)
			}
			cs.Pred, cs.Radius = make([]int, n), make([]F32, n)
			for j, g := range got {
				cs.Pred[j], cs.Radius[j] = g.Class, floorF32(g.Radius)
			}
			continue
		}
		cs.Certified, cs.StoppedBy = make([][]int, len(eps)), make([]string, n)
		for e := range eps {
			cs.Certified[e] = make([]int, n)
		}
		// Radii in increasing order: a sample not certified at one radius
		// is not tried at larger ones, which contain its ball (leaving it
		// uncertified there is sound, and saves the most expensive calls).
		order := make([]int, len(eps))
		for e := range order {
			order[e] = e
		}
		sort.SliceStable(order, func(a, b int) bool { return eps[order[a]].Value < eps[order[b]].Value })
		err := parallelRows(ctx, rows, func(j int) error {
			xs := x[j*size : (j+1)*size]
			for _, e := range order {
				ok, stop, err := p.Bounds.CertifyLinf(ctx, c.Method, xs, eps[e].Value, labels[j])
				if err != nil {
					return fmt.Errorf("%s at eps %s: %w", c.ID(), eps[e].Requested, err)
				}
				if stop != "" {
					cs.StoppedBy[j] = stop // the same op stops it at every radius
				}
				if !ok {
					break
				}
				cs.Certified[e][j] = 1
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// parallelRows runs f on every row, on as many goroutines as Go may run
// at once; each row writes only its own entries. It returns the first error.
func parallelRows(ctx context.Context, rows []int, f func(j int) error) error {
	workers := min(runtime.GOMAXPROCS(0), len(rows))
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if err := f(j); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, j := range rows {
		select {
		case next <- j:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	// Drain: workers that fail after the feed stopped must not block.
	go func() { wg.Wait(); close(errs) }()
	for e := range errs {
		if err == nil {
			err = e
		}
	}
	return err
}

// Bounds certifies L∞ balls of a model by bound propagation over its IR
// graph (package certify): IBP and CROWN, within the input box [Lo, Hi].
type Bounds struct {
	Verifier *certify.Verifier
	Lo, Hi   float64
}

// NewBounds returns the bound certifier of a model's graph (its inputs in
// pixel space, preprocessing included) for inputs in [lo, hi].
func NewBounds(g *ir.Graph, lo, hi float64) *Bounds {
	return &Bounds{Verifier: certify.NewVerifier(g), Lo: lo, Hi: hi}
}

// CertifyLinf implements BoundCertifier.
func (b *Bounds) CertifyLinf(ctx context.Context, method string, x []float32, eps float64, label int) (bool, string, error) {
	m, err := certify.ParseMethod(method)
	if err != nil {
		return false, "", err
	}
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	c, err := b.Verifier.Certify(ctx, x64, eps, b.Lo, b.Hi, m, label)
	if err != nil {
		return false, "", err
	}
	return c.Certified, c.StoppedBy, nil
}

// floorF32 is v as a float32 no larger than v, so that a radius read back
// from a report never certifies more than was proved.
func floorF32(v float64) F32 {
	f := float32(v)
	if float64(f) > v {
		f = float32(math.Nextafter32(f, float32(math.Inf(-1))))
	}
	return F32(f)
}

// reduceCertified computes the certified accuracies, the lower ends of the
// robust-accuracy intervals in the worst case, and the radius summaries.
func (r *Report) reduceCertified(requested map[string]map[float64]string) {
	s := r.Samples
	n := len(s.Index)
	r.Certified = nil
	r.Summary.CertifiedRadius = nil
	if len(r.Config.Certify) == 0 {
		return
	}
	r.Certified = []CertifiedResult{}
	conf := map[string]CertifyConfig{}
	for _, c := range r.Config.Certify {
		conf[c.CertifyID] = c
	}
	for k := range s.Certified {
		cs := &s.Certified[k]
		cc := conf[cs.CertifyID]
		smoothed := cc.Classifier == ClassifierSmoothed
		for e, eps := range cs.Eps {
			res := CertifiedResult{CertifyID: cs.CertifyID, Method: cc.Method, Classifier: cc.Classifier, Norm: cs.Norm, Eps: eps, EpsRequested: requested[cs.Norm][eps], N: n}
			for i := 0; i < n; i++ {
				if cs.at(e, i, s.Label[i]) {
					res.NCertified++
				}
				if smoothed && cs.Pred[i] == certify.Abstain {
					res.NAbstained++
				}
				if !smoothed && cs.StoppedBy[i] != "" {
					res.NStopped++
				}
			}
			res.Accuracy, res.AccuracyCI95 = ratio(res.NCertified, n), wilson(res.NCertified, n)
			r.Certified = append(r.Certified, res)
		}
		if smoothed {
			rs := RadiusSummary{CertifyID: cs.CertifyID, N: n}
			radii := make([]float64, n)
			for i := 0; i < n; i++ {
				switch cs.Pred[i] {
				case certify.Abstain:
					rs.NAbstained++
				case s.Label[i]:
					rs.NCorrect++
					radii[i] = float64(cs.Radius[i])
				default:
					rs.NWrong++
				}
			}
			rs.P25, rs.Median, rs.P75, rs.Max = Num(metrics.Percentile(radii, 25)), Num(metrics.Median(radii)), Num(metrics.Percentile(radii, 75)), Num(metrics.Max(radii))
			r.Summary.CertifiedRadius = append(r.Summary.CertifiedRadius, rs)
		}
	}
	for w := range r.WorstCase {
		row := &r.WorstCase[w]
		var methods []string
		certified := make([]bool, n)
		for k := range s.Certified {
			cs := &s.Certified[k]
			if conf[cs.CertifyID].Classifier != ClassifierModel || cs.Norm != row.Norm {
				continue
			}
			for e, eps := range cs.Eps {
				if eps != row.Eps {
					continue
				}
				methods = append(methods, cs.CertifyID)
				for i := range certified {
					certified[i] = certified[i] || cs.at(e, i, s.Label[i])
				}
			}
		}
		if methods == nil {
			continue
		}
		c := 0
		for _, v := range certified {
			if v {
				c++
			}
		}
		row.Certified = &CertifiedBound{NCertified: c, Accuracy: ratio(c, n), AccuracyCI95: wilson(c, n), Methods: methods}
	}
}

// certifiedBroken finds samples that a method certifying the model proved
// at some L∞ radius and that the model misclassifies within it: clean, or
// under an attack at a radius no larger (an L2 ball lies inside the L∞
// ball of the same radius, so L2 attacks count too).
func (r *Report) certifiedBroken() []Flag {
	s := r.Samples
	var flags []Flag
	for k := range s.Certified {
		cs := &s.Certified[k]
		if cs.smoothed() || cs.Norm != "linf" {
			continue
		}
		count, first, by := 0, -1, ""
		for i := range s.Index {
			largest := math.Inf(-1)
			for e, eps := range cs.Eps {
				if cs.at(e, i, s.Label[i]) {
					largest = math.Max(largest, eps)
				}
			}
			if math.IsInf(largest, -1) {
				continue
			}
			what := ""
			if s.CleanPred[i] != s.Label[i] {
				what = "the clean input"
			}
			for _, o := range s.Outcomes {
				if what != "" {
					break
				}
				if o.Eps <= largest && o.Pred[i] != s.Label[i] {
					what = fmt.Sprintf("%s at %s eps %s", o.AttackID, o.Norm, fmtEps(o.Eps))
				}
			}
			if what != "" {
				if count == 0 {
					first, by = s.Index[i], fmt.Sprintf("%s (certified up to linf eps %s)", what, fmtEps(largest))
				}
				count++
			}
		}
		if count > 0 {
			flags = append(flags, Flag{ID: FlagCertifiedBroken, Severity: "error", Message: fmt.Sprintf(
				"%d samples certified by %s are misclassified within their certified radius (first: sample %d, by %s): a certificate and an attack contradict each other, so one of them is wrong", count, cs.CertifyID, first, by)})
		}
	}
	return flags
}

// checkCertified validates a report's per-sample certificates against its
// configuration: one record per method in order, the grid radii of its
// norm, arrays covering the samples and holding values they can take.
func (s *Samples) checkCertified(c Config, classes int) error {
	if len(s.Certified) != len(c.Certify) {
		return fmt.Errorf("samples.certified holds %d records; config.certify has %d methods", len(s.Certified), len(c.Certify))
	}
	n := len(s.Index)
	for k, cc := range c.Certify {
		cs := &s.Certified[k]
		if cs.CertifyID != cc.CertifyID || cs.Norm != cc.Norm {
			return fmt.Errorf("samples.certified[%d] is %s (%s); the configuration puts %s (%s) there", k, cs.CertifyID, cs.Norm, cc.CertifyID, cc.Norm)
		}
		var grid []float64
		for _, e := range c.Eps {
			if e.Norm == cc.Norm {
				grid = append(grid, e.Value)
			}
		}
		if fmt.Sprint(grid) != fmt.Sprint(cs.Eps) {
			return fmt.Errorf("samples.certified[%d].eps is %v; the %s grid is %v", k, cs.Eps, cc.Norm, grid)
		}
		if cc.Classifier == ClassifierSmoothed {
			if cs.Certified != nil || cs.StoppedBy != nil || len(cs.Pred) != n || len(cs.Radius) != n {
				return fmt.Errorf("samples.certified[%d] (%s): want pred and radius for each of the %d samples, and no certified or stopped_by", k, cs.CertifyID, n)
			}
			for i, p := range cs.Pred {
				r := float64(cs.Radius[i])
				if p < certify.Abstain || (classes > 0 && p >= classes) || math.IsNaN(r) || math.IsInf(r, 0) || r < 0 || (p == certify.Abstain && r != 0) {
					return fmt.Errorf("samples.certified[%d].pred[%d] = %d with radius %v", k, i, p, r)
				}
			}
			continue
		}
		if cs.Pred != nil || cs.Radius != nil || len(cs.Certified) != len(grid) || len(cs.StoppedBy) != n {
			return fmt.Errorf("samples.certified[%d] (%s): want certified for each of the %d radii and stopped_by for each of the %d samples, and no pred or radius", k, cs.CertifyID, len(grid), n)
		}
		for e, v := range cs.Certified {
			if len(v) != n {
				return fmt.Errorf("samples.certified[%d].certified[%d] does not cover the %d samples", k, e, n)
			}
			for i, b := range v {
				if b != 0 && b != 1 {
					return fmt.Errorf("samples.certified[%d].certified[%d][%d] = %d: want 0 or 1", k, e, i, b)
				}
			}
		}
	}
	return nil
}

// appendCertified adds b's certificates after s's.
func (s *Samples) appendCertified(b *Samples) {
	for k := range s.Certified {
		o, c := &s.Certified[k], &b.Certified[k]
		if c.Certified != nil {
			if o.Certified == nil {
				o.Certified = make([][]int, len(c.Certified))
			}
			for e := range c.Certified {
				o.Certified[e] = append(o.Certified[e], c.Certified[e]...)
			}
			o.StoppedBy = append(o.StoppedBy, c.StoppedBy...)
		}
		if c.Pred != nil {
			o.Pred = append(o.Pred, c.Pred...)
			o.Radius = append(o.Radius, c.Radius...)
		}
	}
}

// permuteCertified reorders the certificates by perm.
func (s *Samples) permuteCertified(perm []int) {
	for k := range s.Certified {
		c := &s.Certified[k]
		for e := range c.Certified {
			c.Certified[e] = permuted(c.Certified[e], perm)
		}
		c.StoppedBy = permuted(c.StoppedBy, perm)
		c.Pred = permuted(c.Pred, perm)
		c.Radius = permuted(c.Radius, perm)
	}
}

func permuted[T any](v []T, perm []int) []T {
	if v == nil {
		return nil
	}
	out := make([]T, len(perm))
	for i, p := range perm {
		out[i] = v[p]
	}
	return out
}

// sameCertified reports whether b's certificate records are a's.
func sameCertified(a, b *Samples) error {
	if len(a.Certified) != len(b.Certified) {
		return fmt.Errorf("%d certification records where %d are expected (--certify)", len(b.Certified), len(a.Certified))
	}
	for k := range a.Certified {
		ca, cb := &a.Certified[k], &b.Certified[k]
		if ca.CertifyID != cb.CertifyID || ca.Norm != cb.Norm || fmt.Sprint(ca.Eps) != fmt.Sprint(cb.Eps) {
			return fmt.Errorf("certification record %d is %s at %s eps %v where %s at %s eps %v is expected", k, cb.CertifyID, cb.Norm, cb.Eps, ca.CertifyID, ca.Norm, ca.Eps)
		}
	}
	return nil
}
