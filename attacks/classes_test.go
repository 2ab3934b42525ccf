package attacks

import (
	"errors"
	"strings"
	"testing"
)

// Attack parameters that cannot work with the model's classes are refused
// before a run (as a spec error), not in its middle.
func TestCheckClasses(t *testing.T) {
	for _, c := range []struct {
		spec    string
		classes int
		say     string // "" when the attack fits
	}{
		{"fgsm:target=10", 10, "target=10, but the model's classes are 0 to 9"},
		{"fgsm:target=9", 10, ""},
		{"pgd:target=99", 10, "target=99"},
		{"mifgsm:target=10", 10, "target=10"},
		{"bim:target=next", 1, "needs at least 2 classes"},
		{"fgsm:loss=dlr", 2, "DLR loss needs at least 3 classes"},
		{"fgsm:loss=dlr", 3, ""},
		{"pgd:loss=dlr,target=ll", 3, "DLR loss needs at least 4 classes"},
		{"apgd-dlr", 2, "needs at least 3 classes"},
		{"apgd-t:targets=12", 10, "apgd-t with 12 targets needs at least 13 classes"},
		{"apgd-t", 10, ""},
		{"fab-t:targets=12", 10, "fab-t with 12 targets needs at least 13 classes"},
		{"fab-t", 10, ""},
		{"autoattack", 10, ""},
		{"pgd", 2, ""},
	} {
		a, err := Parse(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		err = CheckClasses(a, c.classes)
		switch {
		case c.say == "" && err != nil:
			t.Errorf("%s with %d classes: %v", c.spec, c.classes, err)
		case c.say != "" && (err == nil || !strings.Contains(err.Error(), c.say) || !errors.Is(err, ErrSpec)):
			t.Errorf("%s with %d classes: %v; want a spec error saying %q", c.spec, c.classes, err, c.say)
		}
	}
}

// Parameter values that parse but are not usable numbers are refused.
func TestParseRefusesNonFinite(t *testing.T) {
	for _, spec := range []string{"pgd:rel_step=nan/1", "pgd:step=inf/1", "pgd:step=1e308/1e-308", "fgsm:target=-1"} {
		if _, err := Parse(spec); !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q): %v; want a spec error", spec, err)
		}
	}
}
