package reports

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// maxSamples bounds the sample and shard counts a report may claim, so that
// shard ranges (I·Total/N) cannot overflow and no count read from a file can
// ask for more than the file could hold.
const maxSamples = 1 << 31

// outcomeKey names one outcome set: an attack at one radius.
type outcomeKey struct {
	AttackID string
	Norm     string
	Eps      float64
}

func (k outcomeKey) String() string {
	return fmt.Sprintf("%s at %s eps %s", k.AttackID, k.Norm, fmtEps(k.Eps))
}

func keyOf(o *Outcomes) outcomeKey { return outcomeKey{o.AttackID, o.Norm, o.Eps} }

// layoutOf returns the outcome sets a configuration produces, in the order
// the engine writes them: per attack, its norm's radii in grid order.
func layoutOf(c Config) []outcomeKey {
	var keys []outcomeKey
	for _, a := range c.Attacks {
		for _, e := range c.Eps {
			if e.Norm == a.Norm {
				keys = append(keys, outcomeKey{a.AttackID, a.Norm, e.Value})
			}
		}
	}
	return keys
}

// checkConfig validates the configuration a report claims: the plan its
// per-sample outcomes must follow.
func checkConfig(c Config, total int) error {
	if total < 0 || total > maxSamples {
		return fmt.Errorf("dataset.total %d is out of range", total)
	}
	if c.Shard.N < 1 || c.Shard.N > maxSamples || c.Shard.I < 0 || c.Shard.I >= c.Shard.N {
		return fmt.Errorf("config.shard %d/%d: want 0 ≤ I < N ≤ %d", c.Shard.I, c.Shard.N, maxSamples)
	}
	if len(c.Attacks) == 0 && len(c.Corruptions) == 0 {
		return fmt.Errorf("config.attacks and config.corruptions are empty")
	}
	if err := checkCorruptionConfig(c); err != nil {
		return err
	}
	switch {
	case c.Task == "" && c.OutputLoss == "":
	case c.Task == TaskEmbedding && (c.OutputLoss == "cosine" || c.OutputLoss == "mse"):
	default:
		return fmt.Errorf("config.task %q with output_loss %q: want no task, or embedding with cosine or mse", c.Task, c.OutputLoss)
	}
	norms := map[string]bool{}
	ids := map[string]bool{}
	for i, cc := range c.Certify {
		want, err := ParseCertify(cc.CertifyID)
		if err != nil || want.ID() != cc.CertifyID || cc.Method != want.Method || cc.Norm != want.Norm().String() || cc.Classifier != want.Classifier() {
			return fmt.Errorf("config.certify[%d]: %s (%s, %s, %s) is not a certification method", i, cc.CertifyID, cc.Method, cc.Norm, cc.Classifier)
		}
		if ids["certify "+cc.CertifyID] {
			return fmt.Errorf("config.certify[%d]: %s is listed twice", i, cc.CertifyID)
		}
		ids["certify "+cc.CertifyID] = true
		norms[cc.Norm] = true
	}
	for i, a := range c.Attacks {
		if a.AttackID == "" || !slices.Contains(Norms, a.Norm) {
			return fmt.Errorf("config.attacks[%d]: attack %q of norm %q", i, a.AttackID, a.Norm)
		}
		if ids[a.AttackID] {
			return fmt.Errorf("config.attacks[%d]: attack %s is listed twice", i, a.AttackID)
		}
		ids[a.AttackID] = true
		norms[a.Norm] = true
	}
	grid := map[string]map[float64]bool{}
	for i, e := range c.Eps {
		if !norms[e.Norm] {
			return fmt.Errorf("config.eps[%d]: no attack or certification method of norm %q", i, e.Norm)
		}
		if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) || e.Value < 0 {
			return fmt.Errorf("config.eps[%d]: eps %v", i, e.Value)
		}
		if grid[e.Norm] == nil {
			grid[e.Norm] = map[float64]bool{}
		}
		if grid[e.Norm][e.Value] {
			return fmt.Errorf("config.eps[%d]: %s eps %s is listed twice", i, e.Norm, fmtEps(e.Value))
		}
		grid[e.Norm][e.Value] = true
	}
	for n := range norms {
		if len(grid[n]) == 0 {
			return fmt.Errorf("config.eps has no %s radius for the %s attacks and certification methods", n, n)
		}
	}
	return nil
}

// checkLayout validates the per-sample outcomes of a report read from a file
// against its own configuration, before any of them is used: every count is
// bounded by the arrays the file holds, every outcome set is the one the
// configuration puts at its position (attack_id, norm, eps) exactly once,
// sample indices lie in the shard and increase, and every per-sample array
// covers the samples.
func (r *Report) checkLayout() error {
	s := r.Samples
	if s == nil {
		return errors.New("the report has no per-sample outcomes, so its figures cannot be checked")
	}
	if err := checkConfig(r.Config, r.Dataset.Total); err != nil {
		return err
	}
	want := layoutOf(r.Config)
	if len(s.Outcomes) != len(want) {
		return fmt.Errorf("samples.outcomes holds %d outcome sets; the configuration (%d attacks × their radii) gives %d", len(s.Outcomes), len(r.Config.Attacks), len(want))
	}
	for k := range s.Outcomes {
		if got := keyOf(&s.Outcomes[k]); got != want[k] {
			return fmt.Errorf("samples.outcomes[%d] is %s; the configuration puts %s there", k, got, want[k])
		}
	}
	wantC := corruptionLayout(r.Config)
	if len(s.Corrupted) != len(wantC) {
		return fmt.Errorf("samples.corrupted holds %d outcome sets; the configuration (%d corruptions × %d severities) gives %d", len(s.Corrupted), len(r.Config.Corruptions), len(r.Config.Severities), len(wantC))
	}
	for k := range s.Corrupted {
		if got := (corruptionKey{s.Corrupted[k].Corruption, s.Corrupted[k].Severity}); got != wantC[k] {
			return fmt.Errorf("samples.corrupted[%d] is %s; the configuration puts %s there", k, got, wantC[k])
		}
	}
	if err := s.check(); err != nil {
		return err
	}
	if err := s.checkMinNorms(r.Config); err != nil {
		return err
	}
	if err := s.checkCertified(r.Config, r.classes()); err != nil {
		return err
	}
	lo, hi := r.Config.Shard.Range(r.Dataset.Total)
	for k, i := range s.Index {
		if i < lo || i >= hi {
			return fmt.Errorf("samples.index[%d] = %d is outside shard %d/%d, samples [%d, %d)", k, i, r.Config.Shard.I, r.Config.Shard.N, lo, hi)
		}
		if k > 0 && i <= s.Index[k-1] {
			return fmt.Errorf("samples.index[%d] = %d does not follow %d: indices must increase", k, i, s.Index[k-1])
		}
	}
	if classes := r.classes(); classes > 0 {
		in := func(name string, v []int, lo int) error {
			for k, c := range v {
				if c < lo || c >= classes {
					return fmt.Errorf("%s[%d] = %d is not a class of the model's %d", name, k, c, classes)
				}
			}
			return nil
		}
		if err := in("samples.label", s.Label, 0); err != nil {
			return err
		}
		// An embedding task has no predictions: every one is −1.
		pred := func(name string, v []int) error {
			if r.Config.Task != TaskEmbedding {
				return in(name, v, 0)
			}
			for k, c := range v {
				if c != -1 {
					return fmt.Errorf("%s[%d] = %d in an embedding report, which has no predictions (−1)", name, k, c)
				}
			}
			return nil
		}
		if err := pred("samples.clean_pred", s.CleanPred); err != nil {
			return err
		}
		for k := range s.Outcomes {
			o := &s.Outcomes[k]
			if err := pred(fmt.Sprintf("samples.outcomes[%d].pred", k), o.Pred); err != nil {
				return err
			}
			if err := in(fmt.Sprintf("samples.outcomes[%d].target", k), o.Target, -1); err != nil {
				return err
			}
		}
		for k := range s.Corrupted {
			if err := in(fmt.Sprintf("samples.corrupted[%d].pred", k), s.Corrupted[k].Pred, 0); err != nil {
				return err
			}
		}
	}
	if c := s.Checks; c != nil {
		if err := c.checkValues(s); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for k, rf := range s.Refined {
		if seen[rf.Norm] || !hasNorm(r.Config, rf.Norm) || rf.Steps < 1 || rf.Steps > 30 {
			return fmt.Errorf("samples.refined_min_eps[%d]: norm %q with %d steps", k, rf.Norm, rf.Steps)
		}
		seen[rf.Norm] = true
	}
	return nil
}

// classes is the number of classes of the model's output, or 0 when unknown.
func (r *Report) classes() int {
	if len(r.Model.Outputs) != 1 {
		return 0
	}
	sh := r.Model.Outputs[0].Shape
	if len(sh) == 0 || sh[len(sh)-1] < 1 {
		return 0
	}
	return sh[len(sh)-1]
}

func hasNorm(c Config, norm string) bool {
	for _, a := range c.Attacks {
		if a.Norm == norm {
			return true
		}
	}
	return false
}

// checkValues checks that every per-sample check holds a value it can take.
func (c *Checks) checkValues(s *Samples) error {
	in := func(name string, v []int, lo, hi int) error {
		for k, x := range v {
			if x < lo || x > hi {
				return fmt.Errorf("samples.checks.%s[%d] = %d: want %d to %d", name, k, x, lo, hi)
			}
		}
		return nil
	}
	for _, e := range []error{
		in("deterministic", c.Deterministic, 0, 1),
		in("prob_like", c.ProbLike, 0, 1),
		in("grad_status", c.GradStatus, -1, 2),
		in("unbounded", c.Unbounded, -1, 1),
	} {
		if e != nil {
			return e
		}
	}
	seen := map[string]bool{}
	for k, cp := range c.Converge {
		if seen[cp.AttackID] || s.find(cp.AttackID, cp.Eps) == nil || s.find(cp.AttackID, cp.Eps).Norm != cp.Norm {
			return fmt.Errorf("samples.checks.converge[%d]: %s at %s eps %s is not an outcome set, or is probed twice", k, cp.AttackID, cp.Norm, fmtEps(cp.Eps))
		}
		seen[cp.AttackID] = true
		if err := in(fmt.Sprintf("converge[%d].broken", k), cp.Broken, -1, 1); err != nil {
			return err
		}
	}
	return nil
}

// sameLayout reports whether per-sample outcomes b can be appended to a: the
// same outcome sets (by attack_id, norm and eps) in the same order, and, when
// both hold samples, the same checks and refinements. aHas and bHas say
// whether a and b count as holding samples.
func sameLayout(a, b *Samples, aHas, bHas bool) error {
	if len(a.Outcomes) != len(b.Outcomes) {
		return fmt.Errorf("%d outcome sets where %d are expected", len(b.Outcomes), len(a.Outcomes))
	}
	for k := range a.Outcomes {
		if ka, kb := keyOf(&a.Outcomes[k]), keyOf(&b.Outcomes[k]); ka != kb {
			return fmt.Errorf("outcome set %d is %s where %s is expected", k, kb, ka)
		}
	}
	if err := sameCertified(a, b); err != nil {
		return err
	}
	if len(a.MinNorms) != len(b.MinNorms) {
		return fmt.Errorf("%d minimal-norm records where %d are expected", len(b.MinNorms), len(a.MinNorms))
	}
	for k := range a.MinNorms {
		if a.MinNorms[k].AttackID != b.MinNorms[k].AttackID || a.MinNorms[k].Norm != b.MinNorms[k].Norm {
			return fmt.Errorf("minimal-norm record %d is of %s where %s is expected", k, b.MinNorms[k].AttackID, a.MinNorms[k].AttackID)
		}
	}
	if len(a.Corrupted) != len(b.Corrupted) {
		return fmt.Errorf("%d corrupted outcome sets where %d are expected", len(b.Corrupted), len(a.Corrupted))
	}
	for k := range a.Corrupted {
		ka := corruptionKey{a.Corrupted[k].Corruption, a.Corrupted[k].Severity}
		if kb := (corruptionKey{b.Corrupted[k].Corruption, b.Corrupted[k].Severity}); ka != kb {
			return fmt.Errorf("corrupted outcome set %d is %s where %s is expected", k, kb, ka)
		}
	}
	if !aHas || !bHas {
		return nil
	}
	if (a.Checks == nil) != (b.Checks == nil) {
		if a.Checks == nil {
			return errors.New("the samples hold reliability checks where none are expected (--checks)")
		}
		return errors.New("the samples hold no reliability checks where they are expected (--checks)")
	}
	if a.Checks != nil {
		ca, cb := a.Checks.Converge, b.Checks.Converge
		if len(ca) != len(cb) {
			return fmt.Errorf("%d convergence probes where %d are expected", len(cb), len(ca))
		}
		for k := range ca {
			if ca[k].AttackID != cb[k].AttackID || ca[k].Doubled != cb[k].Doubled || ca[k].Norm != cb[k].Norm || ca[k].Eps != cb[k].Eps {
				return fmt.Errorf("convergence probe %d is %s at eps %s where %s at eps %s is expected", k, cb[k].AttackID, fmtEps(cb[k].Eps), ca[k].AttackID, fmtEps(ca[k].Eps))
			}
		}
	}
	if len(a.Refined) != len(b.Refined) {
		return fmt.Errorf("minimal eps refined for %d norms where %d are expected (--refine-min-eps)", len(b.Refined), len(a.Refined))
	}
	for k := range a.Refined {
		if a.Refined[k].Norm != b.Refined[k].Norm || a.Refined[k].Steps != b.Refined[k].Steps {
			return fmt.Errorf("minimal eps of %s refined by %d steps where %s by %d is expected (--refine-min-eps)", b.Refined[k].Norm, b.Refined[k].Steps, a.Refined[k].Norm, a.Refined[k].Steps)
		}
	}
	return nil
}

// layout returns empty samples shaped as the plan's: its outcome sets, and
// checks and refinements when the plan makes them.
func (p *Plan) layout() *Samples {
	s := newSamples(p)
	if p.Checks {
		s.Checks = &Checks{Converge: p.probeConverge()}
	}
	if p.RefineSteps > 0 {
		for _, n := range Norms {
			for _, a := range p.Attacks {
				if a.Norm().String() == n {
					s.Refined = append(s.Refined, RefinedMinEps{Norm: n, Steps: p.RefineSteps})
					break
				}
			}
		}
	}
	return s
}
