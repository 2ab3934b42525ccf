package reports

import (
	"maps"
	"sort"

	"github.com/advcheck/advcheck/attacks"
)

// ConfigOf returns the report configuration of a plan.
func ConfigOf(p *Plan) Config {
	c := Config{Batch: p.Batch, Seed: p.Seed, Shard: p.Shard, Limit: p.Limit, EpsDefault: p.EpsDefault}
	if p.isEmbedding() {
		c.Task, c.OutputLoss = TaskEmbedding, p.OutputLoss.String()
	}
	for _, a := range p.Attacks {
		c.Attacks = append(c.Attacks, AttackConfig{AttackID: a.ID(), Name: a.Name(), Norm: a.Norm().String(), Params: AttackParams(a, c.Task)})
	}
	for _, cr := range p.Corruptions {
		c.Corruptions = append(c.Corruptions, CorruptionConfig{Name: cr.Name(), Params: cr.Params()})
	}
	if len(p.Corruptions) > 0 {
		c.Severities = append([]int(nil), p.Severities...)
		c.CorruptionBaseline = p.CorruptionBaseline
	}
	for _, cs := range p.Certify {
		c.Certify = append(c.Certify, CertifyConfig{CertifyID: cs.ID(), Method: cs.Method, Norm: cs.Norm().String(), Classifier: cs.Classifier(), Params: cs.Params()})
	}
	norms := make([]string, 0, len(p.Eps))
	byName := map[string][]Eps{}
	for n, list := range p.Eps {
		used := false
		for _, a := range p.Attacks {
			used = used || a.Norm() == n
		}
		for _, c := range p.Certify {
			used = used || c.Norm() == n
		}
		if used {
			norms = append(norms, n.String())
			byName[n.String()] = list
		}
	}
	sort.Strings(norms)
	for _, n := range norms {
		for _, e := range byName[n] {
			c.Eps = append(c.Eps, EpsConfig{Norm: n, Requested: e.Requested, Value: e.Value})
		}
	}
	return c
}

// AttackParams returns the parameters a report records for attack a in a
// run of task ("" or TaskClassification, or TaskEmbedding). Under an
// embedding task the attacks that would start at the clean input, where the
// output loss has a zero gradient, start at a random point of the eps-ball
// (attacks.OutputRandomStarter); their random_start is recorded as true, so
// that the configuration says what ran.
func AttackParams(a attacks.Attack, task string) map[string]any {
	params := a.Params()
	if s, ok := a.(attacks.OutputRandomStarter); ok && task == TaskEmbedding && s.OutputRandomStart() {
		params = maps.Clone(params)
		if params == nil {
			params = map[string]any{}
		}
		params["random_start"] = true
	}
	return params
}
