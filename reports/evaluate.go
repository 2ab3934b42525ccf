package reports

import (
	"context"
	"fmt"
	"time"
)

// Evaluate runs a plan and returns its report. base supplies the model,
// dataset and run descriptions, and any flags raised on the inputs (such as
// a data set whose classes may not match the model's); resume, when not nil, is a partial report of
// the same evaluation whose samples are kept and not recomputed. On an error
// (cancellation, a timeout, a failing model) the report holds every sample
// finished so far, is marked incomplete, and is returned with the error.
func Evaluate(ctx context.Context, p *Plan, base Report, resume *Report, start time.Time) (*Report, error) {
	r := base
	r.Schema = Schema
	r.Config = ConfigOf(p)
	r.Flags = append([]Flag(nil), base.Flags...)
	var done *Samples
	if resume != nil {
		if err := Compatible(&r, resume); err != nil {
			return nil, fmt.Errorf("--resume: the report is of another evaluation: %w", err)
		}
		if resume.Config.Shard != r.Config.Shard {
			return nil, fmt.Errorf("--resume: the report covers shard %d/%d, this run %d/%d", resume.Config.Shard.I, resume.Config.Shard.N, r.Config.Shard.I, r.Config.Shard.N)
		}
		if resume.Samples == nil {
			return nil, fmt.Errorf("--resume: the report has no per-sample outcomes")
		}
		done = resume.Samples
		r.Examples = resume.Examples
	}
	s, err := p.Execute(ctx, done, &r.Examples)
	if s == nil {
		s = newSamples(p)
	}
	r.Samples = s
	lo, hi := p.Shard.Range(p.Data.Len())
	r.Complete = err == nil && len(s.Index) == hi-lo
	if rerr := r.Reduce(); rerr != nil && err == nil {
		err = rerr
	}
	r.Run.DurationS = Num(time.Since(start).Seconds())
	return &r, err
}
