package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/models"
)

// Corruption is a natural image corruption (package attacks/corruption)
// as a plan runs it: not an attack, it has no eps and no gradient, and it
// is applied to every sample at each severity of the sweep.
type Corruption interface {
	// Name is the corruption's canonical name (gaussian_noise, fog, ...).
	Name() string
	// Params are the resolved parameters recorded in config.corruptions
	// (e.g. which parameter table the input size selected).
	Params() map[string]any
	// Corrupt writes into dst the sample x (one sample, C×H×W values in
	// [0, 1]) corrupted at severity (1…5). Its randomness comes from
	// (seed, the corruption, severity, index) only, so that a sample's
	// corrupted values do not depend on the batch, thread or shard.
	Corrupt(dst, x []float32, shape []int, severity int, seed uint64, index int) error
}

// Severities bounds the severity levels a corruption sweep may use.
const (
	MinSeverity = 1
	MaxSeverity = 5
)

// CorruptionConfig is one corruption of the sweep with its resolved parameters.
type CorruptionConfig struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params,omitempty"`
}

// CorruptionBaseline holds what mCE needs of a baseline report (sweep
// --baseline): its error rates on the same data, per corruption and
// severity, and on clean inputs. The figures are the baseline report's own,
// verified from its per-sample outcomes when it was read.
type CorruptionBaseline struct {
	ReportSHA256 string          `json:"report_sha256"` // of the baseline report's bytes
	ModelPath    string          `json:"model_path"`
	ModelSHA256  string          `json:"model_sha256"`
	CleanError   Num             `json:"clean_error"`
	Errors       []BaselineError `json:"errors"` // per corruption and severity of this sweep, in its order
}

// BaselineError is the baseline's error rate on one corruption at one severity.
type BaselineError struct {
	Corruption string `json:"corruption"`
	Severity   int    `json:"severity"`
	Error      Num    `json:"error"`
}

// CorruptedOutcomes are the per-sample results of one corruption at one
// severity, aligned with Samples.Index. Every sample is corrupted (clean
// errors included): a corruption is a shift of the data, not an attack.
type CorruptedOutcomes struct {
	Corruption string `json:"corruption"`
	Severity   int    `json:"severity"`
	Pred       []int  `json:"pred"`
	CosLogits  []F32  `json:"cos_logits"`
	CosProbs   []F32  `json:"cos_probs"`
}

// Corruptions is the report's corruption block: what natural corruptions
// did to the model, beside (never mixed with) the adversarial results.
type Corruptions struct {
	// Results per corruption and severity: accuracy over all samples with
	// its Wilson interval, and the cosine of clean and corrupted outputs
	// over all samples.
	Results []CorruptionResult `json:"results"`
	// BySeverity: accuracy per severity over every corruption.
	BySeverity []CorruptionTotal `json:"by_severity"`
	// ByCorruption: accuracy per corruption over every severity (with its
	// corruption error when a baseline was given).
	ByCorruption []CorruptionTotal `json:"by_corruption"`
	// Overall is the corruption accuracy over every corruption and severity.
	Overall CorruptionTotal `json:"overall"`
	// MCE is the mean corruption error against config.corruption_baseline.
	MCE *MCE `json:"mce,omitempty"`
}

// CorruptionResult is what one corruption at one severity did.
type CorruptionResult struct {
	Corruption   string      `json:"corruption"`
	Severity     int         `json:"severity"`
	N            int         `json:"n"`
	NCorrect     int         `json:"n_correct"`
	Accuracy     Num         `json:"accuracy"`
	AccuracyCI95 [2]Num      `json:"accuracy_ci95"`
	Cosine       CosineStats `json:"cosine"`
}

// CorruptionTotal is an accuracy pooled over several corruption results.
// N counts sample × result pairs; the pairs share samples, so no interval
// is given (a Wilson interval would treat them as independent).
type CorruptionTotal struct {
	Corruption string `json:"corruption,omitempty"`
	Severity   int    `json:"severity,omitempty"`
	N          int    `json:"n"`
	NCorrect   int    `json:"n_correct"`
	Accuracy   Num    `json:"accuracy"`
}

// MCE is the mean corruption error of Hendrycks & Dietterich (2019):
// per corruption c, CE_c = Σ_s E_{c,s} / Σ_s E^base_{c,s}, and the relative
// CE_c = Σ_s (E_{c,s} − E_clean) / Σ_s (E^base_{c,s} − E^base_clean); mCE and
// relative mCE are their means over the corruptions (null when one is).
type MCE struct {
	Corruptions []CorruptionError `json:"corruptions"`
	MCE         Num               `json:"mce"`
	RelativeMCE Num               `json:"relative_mce"`
}

// CorruptionError is one corruption's error against the baseline.
type CorruptionError struct {
	Corruption string `json:"corruption"`
	CE         Num    `json:"ce"`
	RelativeCE Num    `json:"relative_ce"`
}

// CorruptionExample is one sample shown in the HTML report's grid: its
// clean image and, per corruption and severity, the corrupted one.
type CorruptionExample struct {
	Index     int              `json:"index"`
	Label     int              `json:"label"`
	CleanPred int              `json:"clean_pred"`
	Clean     string           `json:"clean_png"`
	Images    []CorruptedImage `json:"images"`
}

// CorruptedImage is one cell of the example grid.
type CorruptedImage struct {
	Corruption string `json:"corruption"`
	Severity   int    `json:"severity"`
	Pred       int    `json:"pred"`
	Image      string `json:"png"`
}

// ParseSeverity reads severity levels (sweep --severity): a level (3), a list (1,3,5) or a range
// START:STOP (1:5), levels 1 to 5, each once; the result is ascending.
func ParseSeverity(s string) ([]int, error) {
	var out []int
	bad := func() error {
		return fmt.Errorf("severity %q: want levels %d to %d as a list (1,3,5) or a range (1:5)", s, MinSeverity, MaxSeverity)
	}
	level := func(t string) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || v < MinSeverity || v > MaxSeverity {
			return 0, bad()
		}
		return v, nil
	}
	for _, item := range strings.Split(s, ",") {
		if a, b, ok := strings.Cut(item, ":"); ok {
			lo, err := level(a)
			if err != nil {
				return nil, err
			}
			hi, err := level(b)
			if err != nil || hi < lo {
				return nil, bad()
			}
			for v := lo; v <= hi; v++ {
				out = append(out, v)
			}
			continue
		}
		v, err := level(item)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	for k := 1; k < len(out); k++ {
		if out[k] == out[k-1] {
			return nil, fmt.Errorf("severity %q: level %d is given twice", s, out[k])
		}
	}
	return out, nil
}

// corruptionKey names one corrupted outcome set.
type corruptionKey struct {
	Corruption string
	Severity   int
}

func (k corruptionKey) String() string {
	return fmt.Sprintf("%s at severity %d", k.Corruption, k.Severity)
}

// corruptionLayout returns the corrupted outcome sets a configuration
// produces, in the order the engine writes them: per corruption, its
// severities in the configuration's order.
func corruptionLayout(c Config) []corruptionKey {
	var keys []corruptionKey
	for _, cc := range c.Corruptions {
		for _, s := range c.Severities {
			keys = append(keys, corruptionKey{cc.Name, s})
		}
	}
	return keys
}

// checkCorruptionConfig validates the corruption part of a configuration.
func checkCorruptionConfig(c Config) error {
	if len(c.Corruptions) == 0 {
		if len(c.Severities) > 0 || c.CorruptionBaseline != nil {
			return fmt.Errorf("config.severities or config.corruption_baseline without config.corruptions")
		}
		return nil
	}
	if c.Task == TaskEmbedding {
		return fmt.Errorf("config.corruptions in an embedding report: corruption accuracy needs classes")
	}
	names := map[string]bool{}
	for i, cc := range c.Corruptions {
		if cc.Name == "" || names[cc.Name] {
			return fmt.Errorf("config.corruptions[%d]: corruption %q is empty or listed twice", i, cc.Name)
		}
		names[cc.Name] = true
	}
	if len(c.Severities) == 0 {
		return fmt.Errorf("config.severities is empty")
	}
	sev := map[int]bool{}
	for i, s := range c.Severities {
		if s < MinSeverity || s > MaxSeverity || sev[s] {
			return fmt.Errorf("config.severities[%d] = %d: want %d to %d, each once", i, s, MinSeverity, MaxSeverity)
		}
		sev[s] = true
	}
	if b := c.CorruptionBaseline; b != nil {
		keys := corruptionLayout(c)
		if len(b.Errors) != len(keys) {
			return fmt.Errorf("config.corruption_baseline holds %d error rates; the corruptions and severities give %d", len(b.Errors), len(keys))
		}
		for k, e := range b.Errors {
			if (corruptionKey{e.Corruption, e.Severity}) != keys[k] {
				return fmt.Errorf("config.corruption_baseline.errors[%d] is %s; the configuration puts %s there", k, corruptionKey{e.Corruption, e.Severity}, keys[k])
			}
			if e.Error.Valid() && (e.Error < 0 || e.Error > 1) {
				return fmt.Errorf("config.corruption_baseline.errors[%d]: error %v is not a rate", k, float64(e.Error))
			}
		}
		if b.CleanError.Valid() && (b.CleanError < 0 || b.CleanError > 1) {
			return fmt.Errorf("config.corruption_baseline.clean_error %v is not a rate", float64(b.CleanError))
		}
	}
	return nil
}

// runCorruptions measures every corruption at every severity on one batch
// (x, n samples with global indices idx, clean logits clean) into out.
// The corruptions see values in [0, 1]: inputs in other bounds are mapped
// there and back.
func (p *Plan) runCorruptions(ctx context.Context, idx []int, labels []int, x, clean []float32, out *Samples, ex *corruptionExamples) error {
	if len(p.Corruptions) == 0 {
		return nil
	}
	m := p.Model
	spec := m.Spec()
	n, size, k := len(idx), spec.Size(), spec.Classes
	lo, hi := float32(spec.Lo), float32(spec.Hi)
	unit := make([]float32, len(x))
	for i, v := range x {
		unit[i] = (v - lo) / (hi - lo)
	}
	cx := make([]float32, len(x))
	logits := make([]float32, n*k)
	slot := 0
	for _, c := range p.Corruptions {
		for _, sev := range p.Severities {
			if err := ctx.Err(); err != nil {
				return err
			}
			for j := range idx {
				dst, src := cx[j*size:(j+1)*size], unit[j*size:(j+1)*size]
				if err := c.Corrupt(dst, src, spec.Shape, sev, p.Seed, idx[j]); err != nil {
					return fmt.Errorf("corruption %s at severity %d: %w", c.Name(), sev, err)
				}
			}
			for i, v := range cx {
				// A corruption's output is clipped to [0, 1] by definition;
				// clipping again keeps the model inside its bounds whatever
				// rounding the mapping back does.
				cx[i] = min(max(lo+v*(hi-lo), lo), hi)
			}
			if err := m.Logits(ctx, cx, n, logits); err != nil {
				return err
			}
			o := &out.Corrupted[slot]
			slot++
			o.Pred = make([]int, n)
			o.CosLogits, o.CosProbs = make([]F32, n), make([]F32, n)
			pc, pa := make([]float64, k), make([]float64, k)
			for j := 0; j < n; j++ {
				cl, al := clean[j*k:(j+1)*k], logits[j*k:(j+1)*k]
				o.Pred[j] = argmax(al)
				o.CosLogits[j] = F32(metrics.Cosine(cl, al))
				metrics.Softmax(pc, cl)
				metrics.Softmax(pa, al)
				o.CosProbs[j] = F32(metrics.CosineF64(pc, pa))
			}
			ex.offer(c.Name(), sev, idx, labels, out.CleanPred, o.Pred, x, cx, spec)
		}
	}
	return nil
}

// corruptionExamples keeps the lowest-indexed sample of the run, clean and
// under every corruption and severity, for the HTML report's grid.
type corruptionExamples struct {
	dst *[]CorruptionExample
}

func newCorruptionExamples(p *Plan, dst *[]CorruptionExample) *corruptionExamples {
	if dst == nil || p.Examples <= 0 || len(p.Corruptions) == 0 {
		return &corruptionExamples{}
	}
	return &corruptionExamples{dst: dst}
}

func (ce *corruptionExamples) offer(name string, sev int, idx, labels, cleanPred, pred []int, x, cx []float32, spec models.InputSpec) {
	if ce.dst == nil || len(idx) == 0 {
		return
	}
	// Batches run in index order and a resumed run starts after the samples
	// it has: the first sample a run offers is its lowest.
	if len(*ce.dst) == 0 {
		*ce.dst = []CorruptionExample{{Index: idx[0], Label: labels[0], CleanPred: cleanPred[0], Clean: pngURL(x[:spec.Size()], spec, spec.Lo, spec.Hi)}}
	}
	e := &(*ce.dst)[0]
	if e.Index != idx[0] {
		return
	}
	for _, im := range e.Images {
		if im.Corruption == name && im.Severity == sev {
			return // a batch that was interrupted and is run again
		}
	}
	e.Images = append(e.Images, CorruptedImage{Corruption: name, Severity: sev, Pred: pred[0], Image: pngURL(cx[:spec.Size()], spec, spec.Lo, spec.Hi)})
}

// mergeCorruptionExamples keeps the lowest-indexed example of the parts.
func mergeCorruptionExamples(lists [][]CorruptionExample) []CorruptionExample {
	var best []CorruptionExample
	for _, l := range lists {
		if len(l) > 0 && (best == nil || l[0].Index < best[0].Index) {
			best = l[:1]
		}
	}
	return best
}

// reduceCorruptions recomputes the corruption block from the per-sample
// outcomes (nil when the sweep ran no corruption).
func (r *Report) reduceCorruptions() *Corruptions {
	c := r.Config
	if len(c.Corruptions) == 0 {
		return nil
	}
	s := r.Samples
	n := len(s.Index)
	out := &Corruptions{Results: []CorruptionResult{}, BySeverity: []CorruptionTotal{}, ByCorruption: []CorruptionTotal{}}
	bySev := map[int]*CorruptionTotal{}
	byCor := map[string]*CorruptionTotal{}
	for _, sev := range c.Severities {
		bySev[sev] = &CorruptionTotal{Severity: sev}
	}
	for _, cc := range c.Corruptions {
		byCor[cc.Name] = &CorruptionTotal{Corruption: cc.Name}
	}
	for _, o := range s.Corrupted {
		res := CorruptionResult{Corruption: o.Corruption, Severity: o.Severity, N: n}
		for i := 0; i < n; i++ {
			if o.Pred[i] == s.Label[i] {
				res.NCorrect++
			}
		}
		res.Accuracy, res.AccuracyCI95 = ratio(res.NCorrect, n), wilson(res.NCorrect, n)
		cl, cp := f64s(o.CosLogits, nil), f64s(o.CosProbs, nil)
		res.Cosine = CosineStats{
			Logits: Spread{Num(metrics.Mean(cl)), Num(metrics.Percentile(cl, 5)), Num(metrics.Min(cl))},
			Probs:  Spread{Num(metrics.Mean(cp)), Num(metrics.Percentile(cp, 5)), Num(metrics.Min(cp))},
		}
		out.Results = append(out.Results, res)
		for _, t := range []*CorruptionTotal{bySev[o.Severity], byCor[o.Corruption], &out.Overall} {
			t.N += n
			t.NCorrect += res.NCorrect
		}
	}
	done := func(t *CorruptionTotal) CorruptionTotal {
		t.Accuracy = ratio(t.NCorrect, t.N)
		return *t
	}
	for _, sev := range c.Severities {
		out.BySeverity = append(out.BySeverity, done(bySev[sev]))
	}
	for _, cc := range c.Corruptions {
		out.ByCorruption = append(out.ByCorruption, done(byCor[cc.Name]))
	}
	out.Overall = done(&out.Overall)
	if b := c.CorruptionBaseline; b != nil {
		out.MCE = mce(out.Results, c, b, r.Clean)
	}
	return out
}

// mce computes the corruption errors of results against baseline b. A
// corruption whose baseline errors sum to zero has a null CE (it cannot be
// normalised), and then the mean is null too.
func mce(results []CorruptionResult, c Config, b *CorruptionBaseline, clean Clean) *MCE {
	m := &MCE{Corruptions: []CorruptionError{}}
	cleanErr := 1 - float64(clean.Accuracy)
	sum, rsum := 0.0, 0.0
	for _, cc := range c.Corruptions {
		var e, eb, rel, relb float64
		for k, res := range results {
			if res.Corruption != cc.Name {
				continue
			}
			err := 1 - float64(res.Accuracy)
			be := float64(b.Errors[k].Error)
			e, eb = e+err, eb+be
			rel, relb = rel+err-cleanErr, relb+be-float64(b.CleanError)
		}
		ce := CorruptionError{Corruption: cc.Name, CE: Num(math.NaN()), RelativeCE: Num(math.NaN())}
		if eb > 0 {
			ce.CE = Num(e / eb)
		}
		if relb != 0 {
			ce.RelativeCE = Num(rel / relb)
		}
		sum += float64(ce.CE)
		rsum += float64(ce.RelativeCE)
		m.Corruptions = append(m.Corruptions, ce)
	}
	nc := float64(len(c.Corruptions))
	m.MCE, m.RelativeMCE = Num(sum/nc), Num(rsum/nc)
	return m
}

// BaselineFor extracts from a baseline report what mCE needs for a sweep of
// config c on data of SHA-256 dataSHA with labels labelSource, and refuses
// a baseline that was run on other data or labels, on other corruptions or
// severities (or with other corruption parameters), or that is incomplete.
// reportSHA is the SHA-256 of the baseline file's bytes. Errors wrap
// ErrBaseline.
func BaselineFor(base *Report, reportSHA string, c Config, dataSHA, labelSource string) (*CorruptionBaseline, error) {
	switch {
	case base.Dataset.SHA256Decoded != dataSHA:
		return nil, fmt.Errorf("%w: the baseline was run on other data (sha256 %s, this run %s)", ErrBaseline, base.Dataset.SHA256Decoded, dataSHA)
	case base.Dataset.LabelSource != labelSource:
		return nil, fmt.Errorf("%w: the baseline used %s labels, this run %s", ErrBaseline, base.Dataset.LabelSource, labelSource)
	case !base.Complete || base.Config.Shard.N != 1:
		return nil, fmt.Errorf("%w: the baseline report is incomplete or one shard of several (merge the shards first)", ErrBaseline)
	case base.Corruptions == nil:
		return nil, fmt.Errorf("%w: the baseline report has no corruption results", ErrBaseline)
	}
	params := map[string]string{}
	for _, cc := range base.Config.Corruptions {
		params[cc.Name] = canonical(cc.Params)
	}
	for _, cc := range c.Corruptions {
		p, ok := params[cc.Name]
		if !ok {
			return nil, fmt.Errorf("%w: the baseline did not run corruption %s", ErrBaseline, cc.Name)
		}
		if p != canonical(cc.Params) {
			return nil, fmt.Errorf("%w: corruption %s ran with parameters %s in the baseline, %s here", ErrBaseline, cc.Name, p, canonical(cc.Params))
		}
	}
	b := &CorruptionBaseline{ReportSHA256: reportSHA, ModelPath: base.Model.Path, ModelSHA256: base.Model.SHA256, CleanError: Num(1 - float64(base.Clean.Accuracy)), Errors: []BaselineError{}}
	for _, key := range corruptionLayout(c) {
		var found *CorruptionResult
		for i := range base.Corruptions.Results {
			if res := &base.Corruptions.Results[i]; res.Corruption == key.Corruption && res.Severity == key.Severity {
				found = res
			}
		}
		if found == nil {
			return nil, fmt.Errorf("%w: the baseline did not run %s", ErrBaseline, key)
		}
		b.Errors = append(b.Errors, BaselineError{Corruption: key.Corruption, Severity: key.Severity, Error: Num(1 - float64(found.Accuracy))})
	}
	return b, nil
}

// canonical writes parameters as JSON with sorted keys.
func canonical(params map[string]any) string {
	b, err := json.Marshal(params)
	if err != nil {
		return fmt.Sprint(params)
	}
	return string(b)
}
