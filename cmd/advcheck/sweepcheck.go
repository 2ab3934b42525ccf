package main

import (
	"fmt"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/reports"
)

// validate checks the sweep flags that need no model or data: each mistake
// is a usage error naming the flag, never a silent fallback to a default.
func (o *sweepOptions) validate() error {
	if o.batchGiven && (o.batch < 1 || o.batch > maxBatch) {
		return usageErr(fmt.Errorf("--batch %d: want 1 to %d", o.batch, maxBatch))
	}
	if o.limit < 0 {
		return usageErr(fmt.Errorf("--limit %d: want 0 (all) or more", o.limit))
	}
	if o.maxData < 1 {
		return usageErr(fmt.Errorf("--max-data-bytes %d: want at least 1", o.maxData))
	}
	if o.timeout < 0 {
		return usageErr(fmt.Errorf("--timeout %v: want 0 (no limit) or more", o.timeout))
	}
	if o.memory != "" {
		if _, err := parseBytes(o.memory); err != nil {
			return usageErr(fmt.Errorf("--memory %v", err))
		}
	}
	return nil
}

// fitModel checks what depends on the loaded model: every attack's
// parameters against its classes, the eps grid (the default one chosen from
// its input shape when --eps was not given, with the note saying which) and
// the batch size against the memory budget.
func (o *sweepOptions) fitModel(m *models.Classifier, as []attacks.Attack, grid reports.EpsGrid) (reports.EpsGrid, string, error) {
	spec := m.Spec()
	for _, a := range as {
		if err := attacks.CheckClasses(a, spec.Classes); err != nil {
			return nil, "", usageErr(fmt.Errorf("--attack %q: %w", a.ID(), err))
		}
	}
	note := ""
	if grid == nil {
		grid, note = reports.DefaultEpsFor(spec.Shape, spec.Lo, spec.Hi)
	}
	longest := 0
	for _, list := range grid {
		longest = max(longest, len(list))
	}
	if err := o.sizeBatch(m, longest); err != nil {
		return nil, "", err
	}
	return grid, note, nil
}
