// Package compare sets reports on the same data side by side: robust
// accuracy and the cosine of clean and adversarial logits per attack and
// eps for every report, and, for each report after the first, what changed
// against the first, with McNemar's paired test on the per-sample outcomes.
package compare

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/reports"
)

// ErrDifferentData is wrapped when reports were not made on the same
// samples: other decoded data, other labels, or other sample indices.
var ErrDifferentData = errors.New("the reports are not on the same data")

// ErrTask is wrapped when a report is not of a classification task: an
// embedding task has no classes, so no accuracy to compare.
var ErrTask = errors.New("compare needs classification reports")

// ErrNoSamples is wrapped when a report has no per-sample outcomes, which
// the paired tests need.
var ErrNoSamples = errors.New("the report has no per-sample outcomes")

// Comparison is the side-by-side view of several reports. The first report
// is the baseline; every Change compares a later report with it.
type Comparison struct {
	Entries []Entry
	// Clean holds the clean accuracy change of each later report
	// (Clean[i] compares Entries[i+1] with Entries[0]).
	Clean []Change
	// Rows holds one row per attack and eps found in any report: attacks
	// in the order they first appear, then eps ascending.
	Rows []Row
}

// Entry describes one report of a comparison.
type Entry struct {
	Name   string // as the caller names it, e.g. its file name
	Report *reports.Report
}

// Row is one attack at one eps across the reports.
type Row struct {
	AttackID string // the attack with its resolved parameters, e.g. pgd:steps=40
	Attack   string // its name, e.g. pgd
	Norm     string
	Eps      float64
	// Values[i] is the row of Entries[i]; nil when that report lacks it.
	Values []*reports.Result
	// Changes[i] compares Entries[i+1] with Entries[0]; nil when either
	// lacks the row.
	Changes []*Change
}

// Change is what changed from the baseline to a later report on the same
// samples, for one attack at one eps (or for the clean inputs).
type Change struct {
	Accuracy reports.Num // later − baseline accuracy
	Cosine   reports.Num // later − baseline mean logit cosine over the attacked samples; null when either is null
	// NewlyBroken counts the samples robust (classified correctly) in the
	// baseline and not in the later report; NewlyRobust the reverse.
	NewlyBroken, NewlyRobust int
	Paired                   int     // the samples compared
	P                        float64 // two-sided McNemar p-value on the discordant samples
	Exact                    bool    // P is the exact binomial one (fewer than metrics.McNemarExactBelow discordant samples); else chi-square with continuity correction
}

// Test names the McNemar variant P comes from.
func (c *Change) Test() string {
	if c.Exact {
		return "exact binomial"
	}
	return "chi-square (continuity-corrected)"
}

// New compares reports made on the same data: the same decoded data
// (dataset.sha256_decoded), the same label source and labels, and the same
// sample indices, each with its per-sample outcomes. names[i] names rs[i] in
// errors and renderings. It needs at least two reports. Reports on other
// data are refused with an error wrapping ErrDifferentData.
func New(names []string, rs []*reports.Report) (*Comparison, error) {
	if len(rs) < 2 || len(names) != len(rs) {
		return nil, fmt.Errorf("compare: want two reports or more and one name each, got %d reports and %d names", len(rs), len(names))
	}
	c := &Comparison{}
	for i, r := range rs {
		if r.Config.Task == reports.TaskEmbedding {
			return nil, fmt.Errorf("%w: %s is a report of an embedding task (no classes, no accuracy)", ErrTask, names[i])
		}
		if r.Samples == nil {
			return nil, fmt.Errorf("%s: %w", names[i], ErrNoSamples)
		}
		if i > 0 {
			if err := sameData(names[0], rs[0], names[i], r); err != nil {
				return nil, err
			}
		}
		c.Entries = append(c.Entries, Entry{Name: names[i], Report: r})
	}
	base := rs[0]
	for _, r := range rs[1:] {
		ch := pair(base, r, base.Samples.CleanPred, r.Samples.CleanPred)
		ch.Accuracy = sub(r.Clean.Accuracy, base.Clean.Accuracy)
		ch.Cosine = reports.Num(math.NaN())
		c.Clean = append(c.Clean, *ch)
	}
	c.Rows = rows(rs)
	for k := range c.Rows {
		row := &c.Rows[k]
		b := row.Values[0]
		for i, r := range rs[1:] {
			v := row.Values[i+1]
			if b == nil || v == nil {
				row.Changes = append(row.Changes, nil)
				continue
			}
			bp, vp := preds(base, b), preds(r, v)
			if bp == nil || vp == nil {
				row.Changes = append(row.Changes, nil)
				continue
			}
			ch := pair(base, r, bp, vp)
			ch.Accuracy = sub(v.Accuracy, b.Accuracy)
			ch.Cosine = sub(v.Cosine.Logits.Mean, b.Cosine.Logits.Mean)
			row.Changes = append(row.Changes, ch)
		}
	}
	return c, nil
}

// sameData refuses a report whose samples are not the baseline's.
func sameData(bname string, b *reports.Report, name string, r *reports.Report) error {
	bd, d := b.Dataset, r.Dataset
	switch {
	case d.SHA256Decoded != bd.SHA256Decoded:
		return fmt.Errorf("%w: %s was run on other data than %s (decoded data sha256 %s, not %s)", ErrDifferentData, name, bname, short(d.SHA256Decoded), short(bd.SHA256Decoded))
	case d.LabelSource != bd.LabelSource:
		return fmt.Errorf("%w: %s uses %s labels, %s %s labels", ErrDifferentData, name, d.LabelSource, bname, bd.LabelSource)
	case !slices.Equal(r.Samples.Index, b.Samples.Index):
		return fmt.Errorf("%w: %s covers other samples than %s (%d samples, shard %d/%d; %s: %d samples, shard %d/%d)", ErrDifferentData, name, bname,
			len(r.Samples.Index), r.Config.Shard.I, r.Config.Shard.N, bname, len(b.Samples.Index), b.Config.Shard.I, b.Config.Shard.N)
	case !slices.Equal(r.Samples.Label, b.Samples.Label):
		return fmt.Errorf("%w: %s labels the samples differently from %s", ErrDifferentData, name, bname)
	}
	return nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func sub(a, b reports.Num) reports.Num {
	if !a.Valid() || !b.Valid() {
		return reports.Num(math.NaN())
	}
	return a - b
}

// pair counts, over the shared samples (same indices, same labels), those
// classified correctly by one report and not the other, and tests them.
func pair(base, r *reports.Report, bpred, pred []int) *Change {
	ch := &Change{}
	label := base.Samples.Label
	for i := range label {
		was, is := bpred[i] == label[i], pred[i] == label[i]
		switch {
		case was && !is:
			ch.NewlyBroken++
		case !was && is:
			ch.NewlyRobust++
		}
	}
	ch.Paired = len(label)
	ch.P, ch.Exact = metrics.McNemar(ch.NewlyBroken, ch.NewlyRobust)
	return ch
}

// preds returns the per-sample predictions behind a result row.
func preds(r *reports.Report, res *reports.Result) []int {
	for k := range r.Samples.Outcomes {
		o := &r.Samples.Outcomes[k]
		if o.AttackID == res.AttackID && o.Norm == res.Norm && o.Eps == res.Eps {
			return o.Pred
		}
	}
	return nil
}

func epsEqual(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// rows lines up the result rows of every report by attack id, norm and eps.
func rows(rs []*reports.Report) []Row {
	type attack struct{ id, name, norm string }
	var order []attack
	seen := map[attack]bool{}
	for _, r := range rs {
		for _, a := range r.Config.Attacks {
			k := attack{a.AttackID, a.Name, a.Norm}
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
	}
	var out []Row
	for _, a := range order {
		var group []Row
		for i, r := range rs {
			for k := range r.Results {
				res := &r.Results[k]
				if res.AttackID != a.id || res.Norm != a.norm {
					continue
				}
				j := slices.IndexFunc(group, func(row Row) bool { return epsEqual(res.Eps, row.Eps) })
				if j < 0 {
					group = append(group, Row{AttackID: a.id, Attack: a.name, Norm: a.norm, Eps: res.Eps, Values: make([]*reports.Result, len(rs))})
					j = len(group) - 1
				}
				group[j].Values[i] = res
			}
		}
		slices.SortStableFunc(group, func(x, y Row) int {
			switch {
			case x.Eps < y.Eps:
				return -1
			case x.Eps > y.Eps:
				return 1
			}
			return 0
		})
		out = append(out, group...)
	}
	return out
}
