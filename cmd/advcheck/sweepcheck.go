package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/datasets"
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
	if err := checkMemory(o.memory); err != nil {
		return err
	}
	if _, err := o.preprocess(); err != nil {
		return err
	}
	return nil
}

// preprocess parses --resize and --center-crop, which apply only to image
// folders.
func (o *sweepOptions) preprocess() (datasets.Preprocess, error) {
	var p datasets.Preprocess
	if o.resize < 0 || o.resize > datasets.MaxPreprocessSize || (o.resizeGiven && o.resize == 0) {
		return p, usageErr(fmt.Errorf("--resize %d: want 1 to %d", o.resize, datasets.MaxPreprocessSize))
	}
	p.Resize = o.resize
	if o.centerCrop != "" {
		hw, err := parseCrop(o.centerCrop)
		if err != nil {
			return p, usageErr(fmt.Errorf("--center-crop %q: %v", o.centerCrop, err))
		}
		p.CenterCrop = hw
	}
	if !p.IsZero() && !strings.HasPrefix(o.data, "folder:") {
		return p, usageErr(fmt.Errorf("--resize and --center-crop apply only to folder:DIR data, not %q", o.data))
	}
	return p, nil
}

// parseCrop parses H[,W]: one size is a square.
func parseCrop(s string) ([]int, error) {
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return nil, errors.New("want H or H,W")
	}
	var hw []int
	for _, part := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || v < 1 || v > datasets.MaxPreprocessSize {
			return nil, fmt.Errorf("want H or H,W, sizes from 1 to %d", datasets.MaxPreprocessSize)
		}
		hw = append(hw, v)
	}
	if len(hw) == 1 {
		hw = append(hw, hw[0])
	}
	return hw, nil
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
