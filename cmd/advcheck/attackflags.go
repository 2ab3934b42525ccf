package main

import (
	"fmt"
	"strings"

	"github.com/advcheck/advcheck/attacks"
)

// splitAttackSpecs splits --attack values: each value may list several
// attacks separated by commas; a comma-separated item that is a key=value
// pair without a name continues the previous attack's parameters, so
// "fgsm,pgd:steps=10,restarts=2" is fgsm and pgd:steps=10,restarts=2.
func splitAttackSpecs(values []string) []string {
	var out []string
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" {
				continue
			}
			if !strings.Contains(tok, ":") && strings.Contains(tok, "=") && len(out) > 0 {
				out[len(out)-1] += "," + tok
				continue
			}
			out = append(out, tok)
		}
	}
	return out
}

// parseAttacks builds the attacks of --attack values.
func parseAttacks(values []string) ([]attacks.Attack, error) {
	var as []attacks.Attack
	seen := map[string]bool{}
	for _, s := range splitAttackSpecs(values) {
		a, err := attacks.Parse(s)
		if err != nil {
			return nil, usageErr(fmt.Errorf("--attack %q: %w", s, err))
		}
		if seen[a.ID()] {
			return nil, usageErr(fmt.Errorf("--attack %s is given twice", a.ID()))
		}
		seen[a.ID()] = true
		as = append(as, a)
	}
	if len(as) == 0 {
		return nil, usageErr(fmt.Errorf("--attack: no attack given"))
	}
	return as, nil
}

// attackHelp lists every attack and its parameters for --help.
func attackHelp() string {
	var b strings.Builder
	for _, d := range attacks.Docs() {
		fmt.Fprintf(&b, "  %-15s %s\n", d.Name, d.Summary)
		for _, p := range d.Params {
			def := p.Default
			if def == "" {
				def = `""`
			}
			limit := ""
			if p.Max > 0 {
				limit = fmt.Sprintf(", at most %d", p.Max)
			}
			fmt.Fprintf(&b, "      %-13s %s (default %s%s)\n", p.Name, p.Doc, def, limit)
		}
	}
	return b.String()
}
