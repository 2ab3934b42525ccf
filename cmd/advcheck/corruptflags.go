package main

import (
	"fmt"
	"slices"
	"strconv"
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

// parseSeverity reads --severity: a level (3), a list (1,3,5) or a range
// START:STOP (1:5), levels 1 to 5, each once; the result is ascending.
func parseSeverity(s string) ([]int, error) {
	var out []int
	bad := func() error {
		return fmt.Errorf("--severity %q: want levels %d to %d as a list (1,3,5) or a range (1:5)", s, reports.MinSeverity, reports.MaxSeverity)
	}
	level := func(t string) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || v < reports.MinSeverity || v > reports.MaxSeverity {
			return 0, bad()
		}
		return v, nil
	}
	for _, item := range strings.Split(s, ",") {
		if a, b, ok := strings.Cut(item, ":"); ok {
			lo, err := level(a)
			if err != nil {
				return nil, err
			}
			hi, err := level(b)
			if err != nil || hi < lo {
				return nil, bad()
			}
			for v := lo; v <= hi; v++ {
				out = append(out, v)
			}
			continue
		}
		v, err := level(item)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	for k := 1; k < len(out); k++ {
		if out[k] == out[k-1] {
			return nil, fmt.Errorf("--severity %q: level %d is given twice", s, out[k])
		}
	}
	return out, nil
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
