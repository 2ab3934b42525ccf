package reports

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/models"
)

// Source is the data a plan attacks, indexed by global sample index.
type Source interface {
	Len() int
	Label(i int) int
	// ReadSamples writes the pixel values of the samples idx, in that
	// order, into dst (len(idx) times the model's Spec().Size()).
	ReadSamples(dst []float32, idx []int) error
}

// Progress receives progress of a run. Units are attacked sample × eps pairs.
type Progress interface {
	Start(total int)
	Add(n int)
	Done()
}

type noProgress struct{}

func (noProgress) Start(int) {}
func (noProgress) Add(int)   {}
func (noProgress) Done()     {}

// Plan is a sweep to run: a model, data, attacks and radii.
type Plan struct {
	Model       models.Model
	Data        Source
	Attacks     []attacks.Attack
	Eps         EpsGrid
	EpsDefault  string // why Eps is the default grid it is (DefaultEpsFor), or "" when requested
	Batch       int
	Limit       int // the --limit the data were read with (recorded in the report)
	Seed        uint64
	Shard       Shard
	LabelSource string // "truth" or "pred"
	Progress    Progress
	Examples    int     // broken and unbroken samples to show in the HTML report (each)
	AdvSink     AdvSink // receives adversarial examples (--save-adv), or nil
	Checks      bool    // run the reliability checks (see Checks)
	RefineSteps int     // bisection steps refining each sample's minimal eps (0 = the grid)
	// Task is TaskClassification ("", the default) or TaskEmbedding: the
	// model's outputs are an embedding (or another vector), not class
	// scores. Every sample is attacked, with OutputLoss (models.OutputCosine
	// or models.OutputMSE) against its clean output, and the report gives
	// the cosine of clean and adversarial outputs; classification figures
	// are null. Checks, RefineSteps and Examples must be off.
	Task       string
	OutputLoss models.LossKind
	// Corruptions run beside the attacks, each at every one of Severities
	// (1…5), on every sample; CorruptionBaseline, when not nil, gives the
	// baseline's error rates for mCE (see BaselineFor).
	Corruptions        []Corruption
	Severities         []int
	CorruptionBaseline *CorruptionBaseline
	// Certify lists the certification methods run beside the attacks
	// (sweep --certify); Bounds answers the IBP and CROWN ones.
	Certify []CertifySpec
	Bounds  BoundCertifier
}

// The tasks a plan can run.
const (
	TaskClassification = "classification"
	TaskEmbedding      = "embedding"
)

// isEmbedding reports whether the plan attacks outputs rather than classes.
func (p *Plan) isEmbedding() bool { return p.Task == TaskEmbedding }

// AdvSink receives each batch's adversarial examples.
type AdvSink interface {
	Write(attackID string, eps Eps, index []int, adv []float32) error
}

// Range returns the global sample indices [lo, hi) of shard s of total samples.
func (s Shard) Range(total int) (lo, hi int) {
	return s.I * total / s.N, (s.I + 1) * total / s.N
}

// epsFor returns the radii an attack runs at.
func (p *Plan) epsFor(a attacks.Attack) []Eps { return p.Eps[a.Norm()] }

// Validate checks a plan before it runs.
func (p *Plan) Validate() error {
	if p.Batch < 1 {
		return fmt.Errorf("batch %d: want at least 1", p.Batch)
	}
	if p.Shard.N < 1 || p.Shard.I < 0 || p.Shard.I >= p.Shard.N {
		return fmt.Errorf("shard %d/%d: want 0 ≤ I < N", p.Shard.I, p.Shard.N)
	}
	if len(p.Attacks) == 0 && len(p.Corruptions) == 0 {
		return fmt.Errorf("no attacks")
	}
	if err := checkCorruptionConfig(ConfigOf(p)); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, a := range p.Attacks {
		if seen[a.ID()] {
			return fmt.Errorf("attack %s is listed twice", a.ID())
		}
		seen[a.ID()] = true
		if len(p.epsFor(a)) == 0 {
			return fmt.Errorf("attack %s is %s but no %s eps were given", a.ID(), a.Norm(), a.Norm())
		}
	}
	if err := p.validateCertify(); err != nil {
		return err
	}
	if p.LabelSource != "truth" && p.LabelSource != "pred" {
		return fmt.Errorf("labels %q: want truth or pred", p.LabelSource)
	}
	switch p.Task {
	case "", TaskClassification:
	case TaskEmbedding:
		if !p.OutputLoss.IsOutputLoss() {
			return fmt.Errorf("task embedding with the %s loss: want cosine or mse", p.OutputLoss)
		}
		if p.LabelSource == "pred" {
			return fmt.Errorf("task embedding: --labels pred needs class predictions; an embedding task attacks every sample and uses no labels")
		}
		if p.Checks || p.RefineSteps > 0 {
			return fmt.Errorf("task embedding: the reliability checks and the minimal-eps refinement need classes; turn them off")
		}
		for _, a := range p.Attacks {
			ot, ok := a.(attacks.OutputTasker)
			if !ok {
				return fmt.Errorf("attack %s does not apply to task embedding: it needs classes", a.ID())
			}
			if err := ot.OutputTask(); err != nil {
				return fmt.Errorf("attack %s does not apply to task embedding: %v", a.ID(), err)
			}
		}
	default:
		return fmt.Errorf("task %q: want classification or embedding", p.Task)
	}
	return nil
}

// Execute runs the plan on the samples of its shard not already in done (a
// partial report being resumed, or nil), appending to done's samples. On
// cancellation it stops at a batch boundary and returns the samples so far
// with the context's error; nothing computed is lost.
func (p *Plan) Execute(ctx context.Context, done *Samples, examples *[]Example) (*Samples, error) {
	return p.execute(ctx, done, examples, nil)
}

// execute is Execute that also keeps the corruption example grid.
func (p *Plan) execute(ctx context.Context, done *Samples, examples *[]Example, corruptionExamples *[]CorruptionExample) (*Samples, error) {
	if err := p.Validate(); err != nil {
		return done, err
	}
	prog := p.Progress
	if prog == nil {
		prog = noProgress{}
	}
	s := done
	if s == nil {
		s = newSamples(p)
	} else if err := sameLayout(p.layout(), s, true, len(s.Index) > 0); err != nil {
		// Checked before anything runs: a partial report of another plan
		// would pair its outcomes with the wrong attacks and radii.
		return done, fmt.Errorf("%w: the per-sample outcomes to resume do not fit this run: %v", ErrBadReport, err)
	}
	have := map[int]bool{}
	for _, i := range s.Index {
		have[i] = true
	}
	lo, hi := p.Shard.Range(p.Data.Len())
	var todo []int
	for i := lo; i < hi; i++ {
		if !have[i] {
			todo = append(todo, i)
		}
	}
	units := len(p.Corruptions) * len(p.Severities)
	for _, a := range p.Attacks {
		units += len(p.epsFor(a))
	}
	units += len(p.Certify)
	prog.Start(len(todo) * units)
	defer prog.Done()
	ex := newExamplePicker(p, examples)
	cex := newCorruptionExamples(p, corruptionExamples)
	size := p.Model.Spec().Size()
	// The next batch is read while one is attacked: one batch ahead, in
	// order, so that memory is two batches of inputs whatever the data.
	type input struct {
		idx []int
		x   []float32
		err error
	}
	next := make(chan input, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(next)
		for b := 0; b < len(todo); b += p.Batch {
			idx := todo[b:min(b+p.Batch, len(todo))]
			in := input{idx: idx, x: make([]float32, len(idx)*size)}
			in.err = p.Data.ReadSamples(in.x, idx)
			select {
			case next <- in:
			case <-stop:
				return
			}
			if in.err != nil {
				return
			}
		}
	}()
	for in := range next {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		if in.err != nil {
			return s, in.err
		}
		bo, err := p.runBatch(ctx, in.idx, in.x, ex, cex)
		if err != nil {
			return s, err
		}
		if err := s.append(bo); err != nil {
			return s, err
		}
		prog.Add(len(in.idx) * units)
	}
	return s, nil
}

func newSamples(p *Plan) *Samples {
	s := &Samples{}
	for _, a := range p.Attacks {
		for _, e := range p.epsFor(a) {
			s.Outcomes = append(s.Outcomes, Outcomes{AttackID: a.ID(), Norm: a.Norm().String(), Eps: e.Value})
		}
		if _, ok := a.(attacks.Minimizer); ok {
			s.MinNorms = append(s.MinNorms, MinNorms{AttackID: a.ID(), Norm: a.Norm().String()})
		}
	}
	for _, c := range p.Corruptions {
		for _, sev := range p.Severities {
			s.Corrupted = append(s.Corrupted, CorruptedOutcomes{Corruption: c.Name(), Severity: sev})
		}
	}
	for _, c := range p.Certify {
		cs := Certificates{CertifyID: c.ID(), Norm: c.Norm().String(), Eps: []float64{}}
		for _, e := range p.certifyEps(c) {
			cs.Eps = append(cs.Eps, e.Value)
			if c.Classifier() == ClassifierModel {
				cs.Certified = append(cs.Certified, []int{})
			}
		}
		s.Certified = append(s.Certified, cs)
	}
	return s
}

// append adds the outcomes of a batch, or of another part of the same
// evaluation, at the end. Outcome sets are paired by (attack_id, norm, eps),
// never by position alone: b must have s's layout.
func (s *Samples) append(b *Samples) error {
	sHas, bHas := len(s.Index) > 0, len(b.Index) > 0
	if err := sameLayout(s, b, sHas, bHas); err != nil {
		return err
	}
	s.Index = append(s.Index, b.Index...)
	s.Label = append(s.Label, b.Label...)
	s.CleanPred = append(s.CleanPred, b.CleanPred...)
	for k := range s.Outcomes {
		o, n := &s.Outcomes[k], &b.Outcomes[k]
		o.Pred = append(o.Pred, n.Pred...)
		if n.Target != nil {
			if o.Target == nil {
				o.Target = make([]int, len(o.Pred)-len(n.Pred), len(o.Pred))
				for i := range o.Target {
					o.Target[i] = -1
				}
			}
			o.Target = append(o.Target, n.Target...)
		} else if o.Target != nil {
			for range n.Pred {
				o.Target = append(o.Target, -1)
			}
		}
		o.CosLogits = append(o.CosLogits, n.CosLogits...)
		o.CosProbs = append(o.CosProbs, n.CosProbs...)
		o.KL = append(o.KL, n.KL...)
		o.Linf = append(o.Linf, n.Linf...)
		o.L2 = append(o.L2, n.L2...)
		// Samples of a report written before L1 norms were recorded have
		// none: the whole set then goes without, as that report does.
		if (!sHas || o.L1 != nil) && (!bHas || n.L1 != nil) {
			o.L1 = append(o.L1, n.L1...)
		} else {
			o.L1 = nil
		}
		o.Queries = append(o.Queries, n.Queries...)
	}
	for k := range s.MinNorms {
		s.MinNorms[k].Values = append(s.MinNorms[k].Values, b.MinNorms[k].Values...)
	}
	for k := range s.Corrupted {
		o, n := &s.Corrupted[k], &b.Corrupted[k]
		o.Pred = append(o.Pred, n.Pred...)
		o.CosLogits = append(o.CosLogits, n.CosLogits...)
		o.CosProbs = append(o.CosProbs, n.CosProbs...)
	}
	s.appendCertified(b)
	for k, r := range b.Refined {
		if k >= len(s.Refined) {
			s.Refined = append(s.Refined, RefinedMinEps{Norm: r.Norm, Steps: r.Steps})
		}
		s.Refined[k].Values = append(s.Refined[k].Values, r.Values...)
	}
	if b.Checks != nil {
		if s.Checks == nil {
			s.Checks = &Checks{}
		}
		s.Checks.append(b.Checks)
	}
	return nil
}

// ErrModelOutput is returned when the model produces NaN or ±Inf logits on clean inputs.
var ErrModelOutput = errors.New("the model's outputs are not finite")

// runBatch attacks the samples idx, whose pixels are x.
func (p *Plan) runBatch(ctx context.Context, idx []int, x []float32, ex *examplePicker, cex *corruptionExamples) (*Samples, error) {
	m := p.Model
	spec := m.Spec()
	n, size, k := len(idx), spec.Size(), spec.Classes
	truth := make([]int, n)
	for j, i := range idx {
		truth[j] = p.Data.Label(i)
	}
	clean := make([]float32, n*k)
	if err := m.Logits(ctx, x, n, clean); err != nil {
		return nil, err
	}
	out := newSamples(p)
	out.Index = append([]int(nil), idx...)
	out.CleanPred = make([]int, n)
	for j := range idx {
		out.CleanPred[j] = argmax(clean[j*k : (j+1)*k])
	}
	labels := truth
	if p.LabelSource == "pred" {
		labels = out.CleanPred
	}
	out.Label = append([]int(nil), labels...)
	// Only samples classified correctly are attacked; the others keep x.
	var rows []int
	for j := range idx {
		if out.CleanPred[j] == labels[j] || p.isEmbedding() {
			rows = append(rows, j)
		}
	}
	sub := attacks.Batch{X: make([]float32, len(rows)*size), Labels: make([]int, len(rows)), Index: make([]int, len(rows))}
	for q, j := range rows {
		copy(sub.X[q*size:(q+1)*size], x[j*size:(j+1)*size])
		sub.Labels[q] = labels[j]
		sub.Index[q] = idx[j]
	}
	if p.isEmbedding() {
		// An output task: no classes; every sample is attacked, away from
		// its clean output. Predictions are recorded as −1.
		sub.Labels, sub.Reference, sub.OutputLoss = nil, clean, p.OutputLoss
		for j := range out.CleanPred {
			out.CleanPred[j] = -1
		}
	}
	slot := 0
	for _, a := range p.Attacks {
		eps := p.epsFor(a)
		advs := make([][]float32, len(eps))
		results := make([]*attacks.Result, len(eps))
		for e := range eps {
			advs[e] = make([]float32, len(sub.X))
			results[e] = &attacks.Result{Queries: make([]int, len(rows))}
		}
		seeds := attacks.Seeds{Seed: p.Seed, ID: a.ID()}
		mz, minimizer := a.(attacks.Minimizer)
		if minimizer {
			dist := []float64{}
			if len(rows) > 0 {
				d, err := runMinimizer(ctx, mz, m, sub, eps, seeds, advs, results)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", a.ID(), err)
				}
				dist = d
			}
			for k := range out.MinNorms {
				if out.MinNorms[k].AttackID == a.ID() {
					out.MinNorms[k].Values = minNormValues(n, rows, dist)
				}
			}
		} else if len(rows) > 0 {
			if sw, ok := a.(attacks.EpsSweeper); ok {
				values := make([]float64, len(eps))
				for e := range eps {
					values[e] = eps[e].Value
				}
				if err := sw.RunSweep(ctx, m, sub, values, seeds, advs, results); err != nil {
					return nil, fmt.Errorf("%s: %w", a.ID(), err)
				}
			} else {
				for e := range eps {
					if err := a.Run(ctx, m, sub, eps[e].Value, seeds, advs[e], results[e]); err != nil {
						return nil, fmt.Errorf("%s at eps %s: %w", a.ID(), eps[e].Requested, err)
					}
				}
			}
		}
		for e := range eps {
			full := append([]float32(nil), x...)
			for q, j := range rows {
				copy(full[j*size:(j+1)*size], advs[e][q*size:(q+1)*size])
			}
			advLogits := append([]float32(nil), clean...)
			// At eps 0 every attack returns its input (a tested invariant), so
			// the clean logits serve.
			if len(rows) > 0 && eps[e].Value > 0 {
				sl := make([]float32, len(rows)*k)
				if err := m.Logits(ctx, advs[e], len(rows), sl); err != nil {
					return nil, err
				}
				for q, j := range rows {
					copy(advLogits[j*k:(j+1)*k], sl[q*k:(q+1)*k])
				}
			}
			o := &out.Outcomes[slot]
			slot++
			fillOutcomes(o, x, full, clean, advLogits, n, size, k)
			if p.isEmbedding() {
				outputOutcomes(o)
			}
			o.Queries = make([]int, n)
			for q, j := range rows {
				o.Queries[j] = results[e].Queries[q]
			}
			if results[e].Targets != nil {
				o.Target = make([]int, n)
				for j := range o.Target {
					o.Target[j] = -1
				}
				for q, j := range rows {
					o.Target[j] = results[e].Targets[q]
				}
			}
			if p.AdvSink != nil {
				if err := p.AdvSink.Write(a.ID(), eps[e], idx, full); err != nil {
					return nil, err
				}
			}
			if !p.isEmbedding() {
				ex.offer(a.ID(), eps[e], idx, rows, labels, out.CleanPred, o.Pred, x, full, spec)
			}
		}
	}
	if err := p.runCorruptions(ctx, idx, labels, x, clean, out, cex); err != nil {
		return nil, err
	}
	if len(p.Certify) > 0 {
		if err := p.certifyBatch(ctx, idx, rows, labels, x, out); err != nil {
			return nil, err
		}
	}
	if p.Checks {
		if err := p.runChecks(ctx, idx, rows, labels, x, clean, out); err != nil {
			return nil, err
		}
	}
	if p.RefineSteps > 0 {
		if err := p.refineMinEps(ctx, idx, rows, labels, x, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fillOutcomes computes the per-sample measurements of one attack at one eps.
func fillOutcomes(o *Outcomes, x, adv, clean, advLogits []float32, n, size, k int) {
	o.Pred = make([]int, n)
	o.CosLogits, o.CosProbs, o.KL = make([]F32, n), make([]F32, n), make([]F32, n)
	o.Linf, o.L2, o.L1 = make([]F32, n), make([]F32, n), make([]F32, n)
	pc, pa := make([]float64, k), make([]float64, k)
	for j := 0; j < n; j++ {
		cl, al := clean[j*k:(j+1)*k], advLogits[j*k:(j+1)*k]
		o.Pred[j] = argmax(al)
		o.CosLogits[j] = F32(metrics.Cosine(cl, al))
		metrics.Softmax(pc, cl)
		metrics.Softmax(pa, al)
		o.CosProbs[j] = F32(metrics.CosineF64(pc, pa))
		o.KL[j] = F32(metrics.KL(cl, al))
		xs, as := x[j*size:(j+1)*size], adv[j*size:(j+1)*size]
		o.Linf[j] = F32(metrics.Linf(as, xs))
		o.L2[j] = F32(metrics.L2(as, xs))
		o.L1[j] = F32(metrics.L1(as, xs))
	}
}

// outputOutcomes clears what an output task has not: class predictions
// (−1), and the softmax cosine and KL divergence, which treat the outputs as
// class scores (NaN, written as null). CosLogits, the cosine of the clean
// and adversarial outputs, stays.
func outputOutcomes(o *Outcomes) {
	nan := F32(math.NaN())
	for j := range o.Pred {
		o.Pred[j] = -1
		o.CosProbs[j], o.KL[j] = nan, nan
	}
}

func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] || (math.IsNaN(float64(v)) && !math.IsNaN(float64(row[best]))) {
			best = j
		}
	}
	return best
}
