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

// certifiedSeries returns the certified curves of a norm for the accuracy
// plot: the lower end of the robust-accuracy interval (IBP, CROWN) with the
// band up to the worst-case attacked accuracy shaded, and one curve per
// method; smoothing's curve is of the smoothed classifier and gets no band,
// as the attacks are of the model.
func certifiedSeries(r *reports.Report, norm string) []series {
	var out []series
	lower := series{name: "certified (model)", interval: true}
	for _, w := range r.WorstCase {
		if w.Norm == norm && w.Certified != nil && w.Accuracy.Valid() && w.Certified.Accuracy.Valid() {
			lower.xs = append(lower.xs, w.Eps)
			lower.ys = append(lower.ys, float64(w.Certified.Accuracy))
			lower.lo = append(lower.lo, float64(w.Certified.Accuracy))
			lower.hi = append(lower.hi, float64(w.Accuracy))
		}
	}
	if len(lower.xs) > 0 {
		out = append(out, lower)
	}
	for _, c := range r.Config.Certify {
		if c.Norm != norm {
			continue
		}
		s := series{name: "certified " + c.CertifyID, dashed: true}
		if c.Classifier == reports.ClassifierSmoothed {
			s.name = "smoothed g: " + c.CertifyID
		}
		for _, row := range r.Certified {
			if row.CertifyID == c.CertifyID && row.Accuracy.Valid() {
				s.xs, s.ys = append(s.xs, row.Eps), append(s.ys, float64(row.Accuracy))
			}
		}
		out = append(out, s)
	}
	return out
}
