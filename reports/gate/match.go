package gate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/reports"
)

// ErrPolicyMismatch is wrapped when a report is not the report of the sweep
// a policy describes.
var ErrPolicyMismatch = errors.New("the report does not match the policy")

func mismatch(field, policy, report string) error {
	return fmt.Errorf("%w: %s: the policy gives %s, the report has %s", ErrPolicyMismatch, field, policy, report)
}

// Match checks that r is what the sweep p describes would produce, so
// that gating r gives the verdict gating that sweep would: the model (its
// SHA-256 when the policy pins one, else its path), the input contract, the
// data (its decoded SHA-256 when pinned, else its spec), limit and label
// source, the seed, the whole data set (no single shard), exactly the
// attacks of the policy with their resolved parameters, exactly its eps
// grid, and, for a max_flags requirement, that the reliability checks ran.
// The batch size is not compared: results do not depend on it.
//
// The error names the first field that differs with both values; it wraps
// ErrPolicyMismatch, or ErrPolicy when the policy itself cannot be resolved.
func Match(r *reports.Report, p *Policy) error {
	if pin := strings.ToLower(strings.TrimSpace(p.Model.SHA256)); pin != "" {
		if pin != r.Model.SHA256 {
			return mismatch("model.sha256", pin, r.Model.SHA256)
		}
	} else if p.Model.Path != r.Model.Path {
		return mismatch("model.path", fmt.Sprintf("%q", p.Model.Path), fmt.Sprintf("%q", r.Model.Path))
	}
	c, err := policyContract(p)
	if err != nil {
		return err
	}
	got := r.Model.InputContract
	switch {
	case string(c.Layout) != got.Layout:
		return mismatch("model.input_contract.layout", string(c.Layout), got.Layout)
	case c.Lo != got.Bounds[0] || c.Hi != got.Bounds[1]:
		return mismatch("model.input_contract.bounds", fmtFloats([]float64{c.Lo, c.Hi}), fmtFloats(got.Bounds[:]))
	case c.Scale != got.Scale:
		return mismatch("model.input_contract.scale", fmtEps(c.Scale), fmtEps(got.Scale))
	case !slices.Equal(c.Mean, got.Mean):
		return mismatch("model.input_contract.mean", fmtFloats(c.Mean), fmtFloats(got.Mean))
	case !slices.Equal(c.Std, got.Std):
		return mismatch("model.input_contract.std", fmtFloats(c.Std), fmtFloats(got.Std))
	case !slices.Equal(c.InputShape, got.InputShape):
		return mismatch("model.input_contract.input_shape", fmtShape(c.InputShape), fmtShape(got.InputShape))
	}
	if p.Data.SHA256 != "" {
		if p.Data.SHA256 != r.Dataset.SHA256Decoded {
			return mismatch("dataset.sha256_decoded", p.Data.SHA256, r.Dataset.SHA256Decoded)
		}
	} else if p.Data.Spec != r.Dataset.Spec {
		return mismatch("dataset.spec", fmt.Sprintf("%q", p.Data.Spec), fmt.Sprintf("%q", r.Dataset.Spec))
	}
	if err := matchPreprocess(p.Data, r.Dataset.Preprocess); err != nil {
		return err
	}
	// A policy cannot name a --classes file, and one renumbers the labels
	// of the same spec.
	if cm := r.Dataset.ClassMap; cm != nil && cm.Source == "classes_file" {
		return mismatch("dataset.class_map", "the data set's own class map (a policy names no --classes file)", "--classes "+cm.File)
	}
	if p.Task != r.Config.Task || p.OutputLoss != r.Config.OutputLoss {
		task := func(t, l string) string {
			if t == "" {
				return "classification"
			}
			return t + " (output_loss " + l + ")"
		}
		return mismatch("config.task", task(p.Task, p.OutputLoss), task(r.Config.Task, r.Config.OutputLoss))
	}
	if p.Data.Labels != r.Dataset.LabelSource {
		return mismatch("dataset.label_source", p.Data.Labels, r.Dataset.LabelSource)
	}
	if p.Data.Limit != r.Config.Limit {
		return mismatch("config.limit", fmt.Sprint(p.Data.Limit), fmt.Sprint(r.Config.Limit))
	}
	if p.Seed != r.Config.Seed {
		return mismatch("config.seed", fmt.Sprint(p.Seed), fmt.Sprint(r.Config.Seed))
	}
	if sh := r.Config.Shard; sh != (reports.Shard{I: 0, N: 1}) {
		return mismatch("config.shard", "the whole data set (0/1)", fmt.Sprintf("shard %d/%d (merge the shards first)", sh.I, sh.N))
	}
	as, err := policyAttacks(p)
	if err != nil {
		return err
	}
	if err := matchAttacks(as, p.Task, r.Config.Attacks); err != nil {
		return err
	}
	if err := matchEps(p, c, as, r.Config.Eps); err != nil {
		return err
	}
	if err := matchCorruptions(p, r.Config); err != nil {
		return err
	}
	var certify []string
	for _, c := range r.Config.Certify {
		certify = append(certify, c.CertifyID)
	}
	if !slices.Equal(p.Certify, certify) {
		return mismatch("config.certify", fmtNames(p.Certify), fmtNames(certify))
	}
	for _, q := range p.Requirements {
		if q.Kind == "max_flags" && (r.Samples == nil || r.Samples.Checks == nil) {
			return mismatch("samples.checks", fmt.Sprintf("a max_flags requirement (line %d), which needs the reliability checks", q.Line),
				"no reliability checks (made with --checks=false, or without per-sample outcomes)")
		}
	}
	return nil
}

// matchPreprocess checks that the report's images were resized and cropped
// as the policy says (data.resize, data.center_crop).
func matchPreprocess(d PolicyData, got *reports.Preprocess) error {
	var resize int
	var crop []int
	if got != nil {
		resize, crop = got.Resize, got.CenterCrop
	}
	describe := func(resize int, crop []int) string {
		var s []string
		if resize > 0 {
			s = append(s, fmt.Sprintf("resize %d", resize))
		}
		if crop != nil {
			s = append(s, fmt.Sprintf("center crop %d×%d", crop[0], crop[1]))
		}
		if s == nil {
			return "no resize or crop"
		}
		return strings.Join(s, " and ")
	}
	if d.Resize != resize || !slices.Equal(d.CenterCrop, crop) {
		return mismatch("dataset.preprocess", describe(d.Resize, d.CenterCrop), describe(resize, crop))
	}
	return nil
}

// policyContract is the input contract the policy's sweep loads the model
// under (the defaults of the sweep flags where the policy is silent).
func policyContract(p *Policy) (models.Contract, error) {
	c := p.Model.Contract()
	if err := models.CheckContract(c); err != nil {
		return c, fmt.Errorf("%w: input contract: %v", ErrPolicy, err)
	}
	n, err := c.Normalized()
	if err != nil {
		return c, fmt.Errorf("%w: input contract: %v", ErrPolicy, err)
	}
	return n, nil
}

// policyAttacks resolves the policy's attack specs as the sweep does.
func policyAttacks(p *Policy) ([]attacks.Attack, error) {
	var as []attacks.Attack
	for _, s := range p.Attacks {
		a, err := attacks.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
		}
		as = append(as, a)
	}
	return as, nil
}

// matchAttacks requires the report to have run exactly the policy's attacks,
// each with the parameters the policy resolves to: a missing attack, an
// extra one (it would enter the worst case) or other parameters change what
// the requirements measure.
func matchAttacks(as []attacks.Attack, task string, got []reports.AttackConfig) error {
	byID := map[string]reports.AttackConfig{}
	var ids []string
	for _, a := range got {
		byID[a.AttackID] = a
		ids = append(ids, a.AttackID)
	}
	have := strings.Join(ids, ", ")
	want := map[string]bool{}
	for _, a := range as {
		want[a.ID()] = true
		rc, ok := byID[a.ID()]
		if !ok {
			return mismatch("config.attacks", a.ID(), "no "+a.ID()+" (it ran "+have+")")
		}
		pw, pg := canonicalJSON(reports.AttackParams(a, task)), canonicalJSON(rc.Params)
		if pw != pg {
			return mismatch("config.attacks["+a.ID()+"].params", pw, pg)
		}
		if rc.Name != a.Name() || rc.Norm != a.Norm().String() {
			return mismatch("config.attacks["+a.ID()+"]", a.Name()+" ("+a.Norm().String()+")", rc.Name+" ("+rc.Norm+")")
		}
	}
	for _, id := range ids {
		if !want[id] {
			return mismatch("config.attacks", "no "+id, id+" as well (it would enter the worst case)")
		}
	}
	return nil
}

// canonicalJSON renders parameters the way the report stores them, so that
// an int and the float64 it was decoded as compare equal.
func canonicalJSON(params map[string]any) string {
	b, err := json.Marshal(params)
	if err != nil {
		return fmt.Sprint(params)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	b, _ = json.Marshal(v) // map keys are sorted
	return string(b)
}

// matchEps requires the report's grid to be the policy's grid (its eps, or
// the sweep's default for the contract's bounds), for the norms of the
// policy's attacks, value for value.
func matchEps(p *Policy, c models.Contract, as []attacks.Attack, got []reports.EpsConfig) error {
	grid := reports.DefaultEps(c.Lo, c.Hi)
	if p.Eps != "" {
		var err error
		if grid, err = reports.ParseEps(p.Eps); err != nil {
			return fmt.Errorf("%w: eps: %v", ErrPolicy, err)
		}
	}
	plan := &reports.Plan{Attacks: as, Eps: grid}
	for _, id := range p.Certify {
		cs, err := reports.ParseCertify(id)
		if err != nil {
			return fmt.Errorf("%w: certify: %v", ErrPolicy, err)
		}
		plan.Certify = append(plan.Certify, cs)
	}
	want := reports.ConfigOf(plan).Eps
	same := len(want) == len(got)
	for i := 0; same && i < len(want); i++ {
		same = want[i].Norm == got[i].Norm && epsEqual(got[i].Value, want[i].Value)
	}
	if !same {
		return mismatch("config.eps", fmtGrid(want), fmtGrid(got))
	}
	return nil
}

func fmtGrid(list []reports.EpsConfig) string {
	if len(list) == 0 {
		return "none"
	}
	byNorm := map[string][]string{}
	var norms []string
	for _, e := range list {
		if _, ok := byNorm[e.Norm]; !ok {
			norms = append(norms, e.Norm)
		}
		byNorm[e.Norm] = append(byNorm[e.Norm], fmtEps(e.Value))
	}
	sort.Strings(norms)
	var parts []string
	for _, n := range norms {
		parts = append(parts, n+" "+strings.Join(byNorm[n], ","))
	}
	return strings.Join(parts, "; ")
}

func fmtFloats(v []float64) string {
	if len(v) == 0 {
		return "none"
	}
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmtEps(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// fmtShape writes an input shape as a policy gives it, or "none".
func fmtShape(s []int) string {
	if s == nil {
		return "none"
	}
	return "[" + strings.ReplaceAll(models.ShapeString(s), ",", ", ") + "]"
}

// matchCorruptions requires the report to have run the policy's
// corruptions, in its order, at its severities.
func matchCorruptions(p *Policy, c reports.Config) error {
	var got []string
	for _, cc := range c.Corruptions {
		got = append(got, cc.Name)
	}
	if !slices.Equal(p.Corruptions, got) {
		return mismatch("config.corruptions", fmtNames(p.Corruptions), fmtNames(got))
	}
	if len(got) > 0 && !slices.Equal(p.Severities, c.Severities) {
		return mismatch("config.severities", fmt.Sprint(p.Severities), fmt.Sprint(c.Severities))
	}
	return nil
}

func fmtNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
