package render

import (
	"fmt"
	"strings"

	"github.com/advcheck/advcheck/reports"
)

// certifiedName names a certification row: the method and, for
// smoothing, that it is about the smoothed classifier.
func certifiedName(c reports.CertifiedResult) string {
	if c.Classifier == reports.ClassifierSmoothed {
		return "certified " + c.CertifyID + " (smoothed g)"
	}
	return "certified " + c.CertifyID
}

// certifiedDetail is what a certified row counts besides its accuracy.
func certifiedDetail(c reports.CertifiedResult) string {
	switch {
	case c.Classifier == reports.ClassifierSmoothed:
		return fmt.Sprintf("%d/%d certified, %d abstained", c.NCertified, c.N, c.NAbstained)
	case c.NStopped > 0:
		return fmt.Sprintf("%d/%d certified, %d stopped by an op", c.NCertified, c.N, c.NStopped)
	}
	return fmt.Sprintf("%d/%d certified", c.NCertified, c.N)
}

// intervalLines state, per norm and eps with a certificate of the model,
// the interval the robust accuracy lies in; and for each smoothing method
// its radius distribution.
func intervalLines(r *reports.Report) []string {
	var out []string
	for _, w := range r.WorstCase {
		if w.Certified == nil {
			continue
		}
		out = append(out, fmt.Sprintf("robust accuracy %s eps %g ∈ [%s, %s]: certified by %s %s, attacked (worst case) %s",
			w.Norm, w.Eps, pct(w.Certified.Accuracy), pct(w.Accuracy), strings.Join(w.Certified.Methods, ", "), ci(w.Certified.AccuracyCI95), ci(w.AccuracyCI95)))
	}
	for _, s := range r.Summary.CertifiedRadius {
		out = append(out, fmt.Sprintf("certified L2 radius of the smoothed classifier (%s): median %s [p25 %s, p75 %s, max %s]; %d correct, %d wrong, %d abstained of %d — certifies g, the smoothed classifier, not the model",
			s.CertifyID, num(s.Median, "%.4g"), num(s.P25, "%.4g"), num(s.P75, "%.4g"), num(s.Max, "%.4g"), s.NCorrect, s.NWrong, s.NAbstained, s.N))
	}
	return out
}
