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
	// The shard's range, which every reader checks the samples against, is
	// taken from the data the plan runs on.
	r.Dataset.Total = p.Data.Len()
	r.Flags = append([]Flag(nil), base.Flags...)
	var done *Samples
	if resume != nil {
		// A report to resume is input like any other: refusing it is exit 3.
		if err := Compatible(&r, resume); err != nil {
			return nil, fmt.Errorf("%w: --resume: the report is of another evaluation: %v", ErrBadReport, err)
		}
		if resume.Config.Shard != r.Config.Shard {
			return nil, fmt.Errorf("%w: --resume: the report covers shard %d/%d, this run %d/%d", ErrBadReport, resume.Config.Shard.I, resume.Config.Shard.N, r.Config.Shard.I, r.Config.Shard.N)
		}
		if resume.Dataset.Total != p.Data.Len() {
			return nil, fmt.Errorf("%w: --resume: the report is of %d samples, this run's data has %d", ErrBadReport, resume.Dataset.Total, p.Data.Len())
		}
		if resume.Samples == nil {
			return nil, fmt.Errorf("%w: --resume: the report has no per-sample outcomes", ErrBadReport)
		}
		if err := sameLayout(p.layout(), resume.Samples, true, len(resume.Samples.Index) > 0); err != nil {
			return nil, fmt.Errorf("%w: --resume: the report's per-sample outcomes do not fit this run: %v", ErrBadReport, err)
		}
		done = resume.Samples
		r.Examples = resume.Examples
		r.CorruptionExamples = resume.CorruptionExamples
	}
	s, err := p.execute(ctx, done, &r.Examples, &r.CorruptionExamples)
	if s == nil {
		s = newSamples(p)
	}
	r.Samples = s
	lo, hi := p.Shard.Range(p.Data.Len())
	r.Complete = err == nil && len(s.Index) == hi-lo
	if rerr := r.Reduce(); rerr != nil {
		// Figures that could not be reduced are no complete report.
		r.Complete = false
		if err == nil {
			err = rerr
		}
	}
	r.Run.DurationS = Num(time.Since(start).Seconds())
	return &r, err
}
