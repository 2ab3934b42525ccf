package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/advcheck/advcheck/models"
)

// defaultMemory is the default --memory budget. It is a fixed size rather
// than a share of the host's memory so that the default batch, which the
// report records, depends on the model and the flags only: shards run on
// different hosts must agree on it to merge.
const defaultMemory = 4 << 30

// maxBatch bounds --batch before any arithmetic on it.
const maxBatch = 1 << 20

// addMemoryFlag defines --memory, the batch's memory budget, for the
// commands that run a sweep (sweep and gate).
func addMemoryFlag(fs *pflag.FlagSet, dst *string) {
	fs.StringVar(dst, "memory", "", "memory `BUDGET` for a batch (compiled model and attack buffers, not the data set), e.g. 8GiB (default 4GiB)")
}

// checkMemory refuses a --memory budget that cannot be read ("" is the
// default), before any file is read.
func checkMemory(s string) error {
	if s == "" {
		return nil
	}
	if _, err := parseBytes(s); err != nil {
		return usageErr(fmt.Errorf("--memory %v", err))
	}
	return nil
}

// parseBytes reads a size such as 4GiB, 512MiB, 2GB or 1000000 (bytes).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != 'e' && r != 'E' && r != '+' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want a size such as 4GiB, 512MiB or 2GB", s)
	}
	mult := map[string]float64{"": 1, "b": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, unit)
	}
	b := v * mult
	if !(b >= 1<<20) || b > 1<<50 || math.IsInf(b, 0) {
		return 0, fmt.Errorf("%q: want between 1 MiB and 1 PiB", s)
	}
	return int64(b), nil
}

// formatBytes prints a size in GiB or MiB.
func formatBytes(b int64) string {
	if b >= 1<<30 {
		return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB"
}

// runMemory estimates what a sweep at batch size batch holds beyond the
// data set: the model's compiled programs (models.ProgramMemory, which the
// engine's tests check against the programs' buffers) and the buffers of
// the report engine and the attacks for each sample of a batch. The latter
// is an allowance: the clean batch, the attacked subset, one adversarial
// copy per eps of the longest list, and about six working copies inside an
// attack (iterate, gradient, best point, momentum, …), each a float32 per
// input value.
func runMemory(m *models.Classifier, batch, epsPerNorm int) int64 {
	modelBatch := min(batch, models.DefaultMaxBatch)
	perSample := int64(epsPerNorm+8) * int64(m.Spec().Size()) * 4
	return m.ProgramMemory(modelBatch).Total() + int64(batch)*perSample
}

// sizeBatch chooses or checks the batch size against the memory budget:
// without --batch, the largest power of two up to 128 that fits; with
// --batch, that batch, refused (exit 2) with the batch that would fit when it
// does not. The model's largest program is then capped at the batch.
func (o *sweepOptions) sizeBatch(m *models.Classifier, epsPerNorm int) error {
	budget := int64(defaultMemory)
	if o.memory != "" {
		b, err := parseBytes(o.memory)
		if err != nil {
			return usageErr(fmt.Errorf("--memory %v", err))
		}
		budget = b
	}
	fits := 0
	for b := 1; b <= models.DefaultMaxBatch; b *= 2 {
		if runMemory(m, b, epsPerNorm) <= budget {
			fits = b
		}
	}
	if o.batchGiven {
		// Name the setting the user can change: --batch for sweep, the
		// policy's batch: key for gate.
		name, where := "--batch", ""
		if o.batchKey != "" {
			name, where = "batch:", " ("+o.batchKey+")"
		}
		if need := runMemory(m, o.batch, epsPerNorm); need > budget {
			hint := fmt.Sprintf("%s %d fits", name, fits)
			if fits == 0 {
				hint = fmt.Sprintf("even batch 1 needs about %s: raise --memory", formatBytes(runMemory(m, 1, epsPerNorm)))
			}
			return usageErr(fmt.Errorf("%s %d%s needs about %s (--memory budget %s); %s", name, o.batch, where, formatBytes(need), formatBytes(budget), hint))
		}
	} else {
		if fits == 0 {
			return usageErr(fmt.Errorf("batch 1 needs about %s, over the --memory budget of %s: raise --memory", formatBytes(runMemory(m, 1, epsPerNorm)), formatBytes(budget)))
		}
		o.batch = fits
	}
	m.SetMaxBatch(min(o.batch, models.DefaultMaxBatch))
	return nil
}
