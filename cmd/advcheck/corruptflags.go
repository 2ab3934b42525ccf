package main

import (
	"fmt"
	"strings"

	"github.com/advcheck/advcheck/attacks/corruption"
	"github.com/advcheck/advcheck/reports"
)

// splitCorruptions separates the corruption specs of --attack from the
// attack specs: "corruptions" is every corruption advcheck implements,
// "corruption:name=fog" (name= repeatable) the ones named. It returns the
// other specs unchanged and the corruption names in the order given.
func splitCorruptions(specs []string) (rest, names []string, err error) {
	seen := map[string]bool{}
	add := func(n string) error {
		if seen[n] {
			return usageErr(fmt.Errorf("--attack: corruption %s is given twice", n))
		}
		if err := corruption.Check(n, reports.MinSeverity); err != nil {
			return usageErr(fmt.Errorf("--attack corruption:name=%s: %w", n, err))
		}
		seen[n] = true
		names = append(names, n)
		return nil
	}
	for _, s := range specs {
		head, params, hasParams := strings.Cut(s, ":")
		switch head {
		case "corruptions":
			if hasParams {
				return nil, nil, usageErr(fmt.Errorf("--attack %q: corruptions takes no parameters (name one with corruption:name=NAME)", s))
			}
			for _, n := range corruption.Names() {
				if err := add(n); err != nil {
					return nil, nil, err
				}
			}
		case "corruption":
			if !hasParams {
				return nil, nil, usageErr(fmt.Errorf("--attack corruption: name the corruption, e.g. corruption:name=fog (or use corruptions for all: %s)", strings.Join(corruption.Names(), ", ")))
			}
			for _, kv := range strings.Split(params, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k != "name" || v == "" {
					return nil, nil, usageErr(fmt.Errorf("--attack %q: corruption takes only name=NAME (one of %s)", s, strings.Join(corruption.Names(), ", ")))
				}
				if err := add(v); err != nil {
					return nil, nil, err
				}
			}
		default:
			rest = append(rest, s)
		}
	}
	return rest, names, nil
}

// corruptionHelp describes the corruptions for --help.
func corruptionHelp() string {
	s := "  corruptions     every natural corruption implemented: " + strings.Join(corruption.Names(), ", ") + "\n" +
		"  corruption      the corruptions named by name=NAME (repeatable), e.g. corruption:name=fog\n"
	if m := corruption.Missing(); len(m) > 0 {
		s += "      (of the 15 of the benchmark, not implemented: " + strings.Join(m, ", ") + ")\n"
	}
	return s
}
