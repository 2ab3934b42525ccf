package reports

import "sort"

// ConfigOf returns the report configuration of a plan.
func ConfigOf(p *Plan) Config {
	c := Config{Batch: p.Batch, Seed: p.Seed, Shard: p.Shard, Limit: p.Limit, EpsDefault: p.EpsDefault}
	if p.isEmbedding() {
		c.Task, c.OutputLoss = TaskEmbedding, p.OutputLoss.String()
	}
	for _, a := range p.Attacks {
		c.Attacks = append(c.Attacks, AttackConfig{AttackID: a.ID(), Name: a.Name(), Norm: a.Norm().String(), Params: a.Params()})
	}
	for _, cr := range p.Corruptions {
		c.Corruptions = append(c.Corruptions, CorruptionConfig{Name: cr.Name(), Params: cr.Params()})
	}
	if len(p.Corruptions) > 0 {
		c.Severities = append([]int(nil), p.Severities...)
		c.CorruptionBaseline = p.CorruptionBaseline
	}
	norms := make([]string, 0, len(p.Eps))
	byName := map[string][]Eps{}
	for n, list := range p.Eps {
		used := false
		for _, a := range p.Attacks {
			used = used || a.Norm() == n
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
