package main

import (
	"fmt"
	"io"

	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/reports"
)

// parseCertify builds the certification methods of --certify values, split
// as --attack values are ("ibp,smoothing:sigma=0.5,n=1000" is ibp and
// smoothing:sigma=0.5,n=1000).
func parseCertify(values []string) ([]reports.CertifySpec, error) {
	var out []reports.CertifySpec
	seen := map[string]bool{}
	for _, s := range splitAttackSpecs(values) {
		c, err := reports.ParseCertify(s)
		if err != nil {
			return nil, usageErr(fmt.Errorf("--certify %q: %v", s, err))
		}
		if seen[c.ID()] {
			return nil, usageErr(fmt.Errorf("--certify %s is given twice", c.ID()))
		}
		seen[c.ID()] = true
		out = append(out, c)
	}
	return out, nil
}

// boundCertifier returns what answers the ibp and crown methods of certs
// on m, or nil when certs has none.
func boundCertifier(m *models.Classifier, certs []reports.CertifySpec) (reports.BoundCertifier, error) {
	for _, c := range certs {
		if c.Classifier() == reports.ClassifierModel {
			spec := m.Spec()
			return reports.NewBounds(m.Graph(), spec.Lo, spec.Hi), nil
		}
	}
	return nil, nil
}

// certifyHelp is the --certify part of sweep --help.
const certifyHelp = `--certify METHOD[,METHOD...] proves lower bounds beside the attacks' upper
bounds, on the same samples:
  ibp        interval bound propagation: the model itself, at each L∞ eps
  crown      backward linear bounds (CROWN): the model itself, at each L∞ eps
  smoothing  randomized smoothing (Cohen et al. 2019): the Gaussian-smoothed
             classifier g(x) = argmax_c P(f(x+ε) = c), ε ~ N(0, σ²I), not the
             model; certified at each L2 eps by its radius σ·Φ⁻¹(p_A), p_A the
             Clopper-Pearson lower bound at alpha from n noisy forwards
      sigma  σ of the noise, pixel units (default 0.25)
      n0     selection samples (default 100)
      n      estimation samples (default 10000, at most 1000000)
      alpha  failure probability of a certificate (default 0.001)
The report gives per method and eps the certified accuracy with its 95%
Wilson interval; for ibp and crown each worst-case row carries the certified
end of the interval the robust accuracy lies in, [certified, attacked]. A
sample that ibp or crown certifies and an attack (or the clean input) breaks
within that radius is a contradiction: the report gets the error flag
certified_broken and the command exits 4.
`

// certifiedBroken returns the error a report's certified_broken flags
// make, or nil.
func certifiedBroken(r *reports.Report, stderr io.Writer) error {
	n := 0
	for _, f := range r.Flags {
		if f.ID == reports.FlagCertifiedBroken {
			fmt.Fprintf(stderr, "advcheck: %s\n", f.Message)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("certificates contradicted by attacks (flag %s): a bug in the bound propagation or in the attacks", reports.FlagCertifiedBroken)
}
