package reports

import (
	"fmt"
	"sort"
	"strings"

	"github.com/advcheck/advcheck/metrics"
)

// The reliability flags: evaluations whose numbers cannot be trusted as they
// stand (Athalye et al. 2018; Carlini et al. 2019; the checks of
// AutoAttack). Each is decided from per-sample data in the report, so shards
// merge and resumed runs reproduce them exactly. docs/flags.md explains each.
const (
	FlagProbabilityOutputs = "probability_outputs"
	FlagZeroGradients      = "zero_gradients"
	FlagNonFiniteGradients = "nonfinite_gradients"
	FlagRandomizedModel    = "randomized_model"
	FlagNonMonotone        = "non_monotone"
	FlagIterativeWeaker    = "iterative_weaker_than_fgsm"
	FlagBlackBoxBeats      = "blackbox_beats_whitebox"
	FlagUnboundedFails     = "unbounded_attack_fails"
	FlagNotConverged       = "not_converged"
	FlagJPEGNotPILExact    = "jpeg_not_pil_exact"
)

// FlagClassCount is raised on the inputs, not decided from samples: an image
// folder's sorted class folders were numbered 0…k−1 without a class mapping,
// and k differs from the model's number of outputs.
const FlagClassCount = "class_count_mismatch"

// notPILExact marks a JPEG decoder name whose pixels are not PIL's
// (datasets.GoJPEGDecoder says so in its name).
const notPILExact = "not PIL-exact"

// significance is the one-sided level of the paired tests behind flags.
const significance = 0.05

var blackBox = map[string]bool{"square": true, "noise-uniform": true, "noise-gaussian": true}
var iterative = map[string]bool{"bim": true, "pgd": true, "mifgsm": true, "apgd-ce": true, "apgd-dlr": true, "apgd-t": true, "fab": true, "fab-t": true}

func reliabilityIDs() map[string]bool {
	return map[string]bool{FlagProbabilityOutputs: true, FlagZeroGradients: true, FlagNonFiniteGradients: true,
		FlagRandomizedModel: true, FlagNonMonotone: true, FlagIterativeWeaker: true, FlagBlackBoxBeats: true,
		FlagUnboundedFails: true, FlagNotConverged: true, FlagJPEGNotPILExact: true, FlagCertifiedBroken: true}
}

// reliabilityFlags decides every reliability flag from the samples.
func (r *Report) reliabilityFlags() []Flag {
	s := r.Samples
	var flags []Flag
	add := func(id, sev, format string, args ...any) {
		flags = append(flags, Flag{ID: id, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	n := len(s.Index)
	attacked := func(i int) bool { return s.CleanPred[i] == s.Label[i] }
	nAttacked := 0
	for i := 0; i < n; i++ {
		if attacked(i) {
			nAttacked++
		}
	}
	names := map[string]string{}
	for _, a := range r.Config.Attacks {
		names[a.AttackID] = a.Name
	}
	if d := r.Dataset.Decoder; strings.Contains(d, notPILExact) {
		add(FlagJPEGNotPILExact, "warning", "the JPEG images were decoded by %s, whose pixels differ from PIL's (libjpeg) by several levels on average and by tens of levels at colour edges of chroma-subsampled files, more than common eps: the model is tested on inputs its PIL pipeline never produces; use a binary built with the libjpeg tag (make build)", d)
	}
	if k := r.Model.OutputKind; k == "probabilities" || k == "log_probabilities" {
		add(FlagProbabilityOutputs, "info", "the model's output is %s: advcheck set the final Softmax aside and attacks the logits before it (attacks on softmax outputs suffer vanishing gradients)", k)
	}
	if c := s.Checks; c != nil && n > 0 {
		prob := 0
		for _, v := range c.ProbLike {
			prob += v
		}
		if k := r.Model.OutputKind; k != "probabilities" && k != "log_probabilities" && prob*10 >= n*9 {
			add(FlagProbabilityOutputs, "warning", "%d of %d clean outputs are non-negative and sum to 1: the model seems to output probabilities through operations advcheck cannot set aside, and gradients through a saturated softmax vanish; export the logits instead", prob, n)
		}
		nd := 0
		for _, v := range c.Deterministic {
			if v == 0 {
				nd++
			}
		}
		if nd > 0 {
			add(FlagRandomizedModel, "error", "repeating the forward pass changed the logits of %d of %d samples: the model is randomised, and a single gradient sample understates attacks that average over the randomness (EOT)", nd, n)
		}
		zero, nonfinite, probed := 0, 0, 0
		for _, v := range c.GradStatus {
			switch v {
			case 0:
				probed++
			case 1:
				probed++
				zero++
			case 2:
				probed++
				nonfinite++
			}
		}
		if nonfinite > 0 {
			add(FlagNonFiniteGradients, "error", "the input gradient of the margin loss at the clean input holds NaN or Inf for %d of %d attacked samples: gradient attacks on them are meaningless", nonfinite, probed)
		}
		if zero > 0 {
			lo, hi := metrics.Wilson(zero, probed)
			sev := "info"
			if lo > 0.01 {
				sev = "warning"
			}
			add(FlagZeroGradients, sev, "the input gradient of the margin loss at the clean input is exactly zero for %d of %d attacked samples (95%% CI of the fraction [%.3f, %.3f]; warning when its lower end exceeds 0.01): gradients may be masked (saturating or step activations, quantisation)", zero, probed, lo, hi)
		}
		survived, probedU := 0, 0
		for _, v := range c.Unbounded {
			if v >= 0 {
				probedU++
				survived += v
			}
		}
		if survived > 0 {
			add(FlagUnboundedFails, "warning", "PGD with %d steps and eps equal to the whole input range, which can reach any input, left %d of %d probed samples (every %dth by index) classified correctly: the gradients do not lead the attack, so gradient-based robustness numbers are unreliable", unboundedSteps, survived, probedU, ProbeEvery)
		}
		for _, cp := range c.Converge {
			o := s.find(cp.AttackID, cp.Eps)
			if o == nil {
				continue
			}
			worse, better, m := 0, 0, 0
			for i, v := range cp.Broken {
				if v < 0 {
					continue
				}
				m++
				base := o.Pred[i] != s.Label[i]
				switch {
				case v == 1 && !base:
					worse++
				case v == 0 && base:
					better++
				}
			}
			if p := metrics.McNemarOneSided(worse, better); worse > 0 && p < significance {
				add(FlagNotConverged, "warning", "%s at eps %g has not converged: %s broke %d more of %d probed samples than it (%d fewer), one-sided McNemar p = %.3g < %g; raise its iterations", cp.AttackID, cp.Eps, cp.Doubled, worse, m, better, p, significance)
			}
		}
	}
	// Curves: accuracy rising with eps, iterative attacks weaker than FGSM.
	robust := func(o *Outcomes, i int) bool { return o.Pred[i] == s.Label[i] }
	paired := func(a, b *Outcomes) (aOnly, bOnly int) { // samples robust under a but not b, and the reverse
		for i := 0; i < n; i++ {
			if !attacked(i) {
				continue
			}
			ra, rb := robust(a, i), robust(b, i)
			switch {
			case ra && !rb:
				aOnly++
			case rb && !ra:
				bOnly++
			}
		}
		return
	}
	byAttack := map[string][]*Outcomes{}
	for k := range s.Outcomes {
		o := &s.Outcomes[k]
		byAttack[o.AttackID] = append(byAttack[o.AttackID], o)
	}
	ids := make([]string, 0, len(byAttack))
	for id := range byAttack {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		list := byAttack[id]
		sort.SliceStable(list, func(i, j int) bool { return list[i].Eps < list[j].Eps })
		for k := 1; k < len(list); k++ {
			small, large := list[k-1], list[k]
			up, down := paired(large, small) // robust at the larger eps only / at the smaller only
			if p := metrics.McNemarOneSided(up, down); up > 0 && p < significance {
				add(FlagNonMonotone, "warning", "%s: accuracy rises from eps %g to %g: %d samples are robust at the larger eps but not the smaller (%d the reverse), one-sided McNemar p = %.3g < %g; a larger ball contains the smaller one, so the attack is failing to find adversarial examples it could reach", id, small.Eps, large.Eps, up, down, p, significance)
			}
		}
	}
	for _, o := range s.Outcomes {
		if !iterative[names[o.AttackID]] || o.Eps == 0 {
			continue
		}
		for _, f := range s.Outcomes {
			if names[f.AttackID] != "fgsm" || f.Norm != o.Norm || f.Eps != o.Eps {
				continue
			}
			oo, ff := o, f
			itOnly, fgOnly := paired(&oo, &ff) // robust under the iterative attack only / under FGSM only
			if p := metrics.McNemarOneSided(itOnly, fgOnly); itOnly > 0 && p < significance {
				add(FlagIterativeWeaker, "warning", "%s is weaker than %s at eps %g: %d samples resist it but not FGSM (%d the reverse), one-sided McNemar p = %.3g < %g; an iterative attack that loses to one gradient step points to masked or noisy gradients or a bad step size", o.AttackID, f.AttackID, o.Eps, itOnly, fgOnly, p, significance)
			}
		}
	}
	// Black-box beats white-box, per sample (AutoAttack's criterion).
	epsByNorm := map[string][]float64{}
	for _, e := range r.Config.Eps {
		epsByNorm[e.Norm] = append(epsByNorm[e.Norm], e.Value)
	}
	for _, norm := range Norms {
		for _, eps := range epsByNorm[norm] {
			var white, black []*Outcomes
			for k := range s.Outcomes {
				o := &s.Outcomes[k]
				if o.Norm != norm || o.Eps != eps || names[o.AttackID] == "autoattack" {
					continue
				}
				if blackBox[names[o.AttackID]] {
					black = append(black, o)
				} else {
					white = append(white, o)
				}
			}
			if len(white) == 0 || len(black) == 0 {
				continue
			}
			count := 0
			for i := 0; i < n; i++ {
				if !attacked(i) {
					continue
				}
				whiteMissed := true
				for _, w := range white {
					whiteMissed = whiteMissed && robust(w, i)
				}
				blackBroke := false
				for _, b := range black {
					blackBroke = blackBroke || !robust(b, i)
				}
				if whiteMissed && blackBroke {
					count++
				}
			}
			if count > 0 {
				lo, hi := metrics.Wilson(count, nAttacked)
				sev := "info"
				if lo > 0.01 {
					sev = "warning"
				}
				add(FlagBlackBoxBeats, sev, "%s eps %g: gradient-free attacks broke %d of %d attacked samples that every gradient attack missed (95%% CI of the fraction [%.3f, %.3f]; warning when its lower end exceeds 0.01): the gradient attacks are not finding adversarial examples that exist", norm, eps, count, nAttacked, lo, hi)
			}
		}
	}
	return append(flags, r.certifiedBroken()...)
}

// find returns the outcomes of an attack at eps.
func (s *Samples) find(id string, eps float64) *Outcomes {
	for k := range s.Outcomes {
		if s.Outcomes[k].AttackID == id && s.Outcomes[k].Eps == eps {
			return &s.Outcomes[k]
		}
	}
	return nil
}
