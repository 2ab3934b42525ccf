package gate

import (
	"errors"
	"strings"
	"testing"
)

const examplePolicy = `apiVersion: advcheck/policy/v1
model:
  path: zoo:mnist-cnn-adv
  sha256: abc
data:
  spec: mnist-sample
  limit: 200
seed: 1
attacks:
  - fgsm
  - name: pgd
    params: {steps: 20, restarts: 2}
eps:
  linf: [0, 0.1, 0.3]
requirements:
  - min_clean_accuracy: 0.9
  - min_accuracy: 0.5
    worst_case: linf
    eps: 0.3
    use: lower_ci
  - min_accuracy: 0.6
    attack: fgsm
    eps: 0.1
  - min_cosine: 0.8
    attack: fgsm
    eps: 0.1
    use: p5
  - max_kl: 2
    attack: pgd
    eps: 0.1
  - max_flags: {warning: 0, error: 0}
  - no_regression: {attack: pgd, eps: 0.3, alpha: 0.05}
  - min_median_min_norm: 1.5
    attack: fmn:norm=l2
`

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy(strings.NewReader(examplePolicy))
	if err != nil {
		t.Fatal(err)
	}
	if p.Model.Path != "zoo:mnist-cnn-adv" || p.Data.Limit != 200 || p.Seed != 1 || p.Batch != 0 {
		t.Errorf("policy %+v", p) // no batch: 0, sized from the memory budget by the sweep
	}
	if q, err := ParsePolicy(strings.NewReader(examplePolicy + "batch: 16\n")); err != nil || q.Batch != 16 {
		t.Errorf("batch: 16 reads as %v (%v)", q.Batch, err)
	}
	if len(p.Attacks) != 2 || p.Attacks[1] != "pgd:restarts=2,steps=20" {
		t.Errorf("attacks %v", p.Attacks)
	}
	if p.Eps != "linf=0,0.1,0.3" {
		t.Errorf("eps %q", p.Eps)
	}
	if q, err := ParsePolicy(strings.NewReader(strings.Replace(examplePolicy, "eps:\n  linf: [0, 0.1, 0.3]\n", "eps:\n  linf: [0, 0.1, 0.3]\n  l1: [0, 10]\n", 1) +
		"  - min_accuracy: 0.5\n    worst_case: l1\n    eps: 10\n")); err != nil || q.Eps != "linf=0,0.1,0.3 l1=0,10" || q.Requirements[8].WorstCase != "l1" {
		t.Errorf("an L1 policy: %+v (%v)", q, err)
	}
	if q := p.Requirements[7]; q.Kind != "min_median_min_norm" || q.Threshold != 1.5 || q.CheckID("") != "min_norm/fmn:norm=l2/min_median_min_norm" {
		t.Errorf("min_median_min_norm reads as %+v", q)
	}
	if len(p.Requirements) != 8 || p.Requirements[1].Use != "lower_ci" || p.Requirements[3].Use != "p5" || p.Requirements[6].Threshold != 0.05 {
		t.Errorf("requirements %+v", p.Requirements)
	}
	if id := p.Requirements[1].CheckID(""); id != "worst_case/linf/0.3/min_accuracy" {
		t.Errorf("check id %q", id)
	}
}

func TestPolicyErrors(t *testing.T) {
	base := "apiVersion: advcheck/policy/v1\nmodel: m.onnx\nattacks: [fgsm]\n"
	for _, c := range []struct{ doc, want string }{
		{"", "empty"},
		{"apiVersion: advcheck/policy/v2\nmodel: m\nattacks: [fgsm]\nrequirements: [{min_clean_accuracy: 0.5}]\n", `want "advcheck/policy/v1"`},
		{base + "requirements: [{min_clean_accuracy: 0.5}]\nbogus: 1\n", `line 5, column 1: unknown key "bogus"`},
		{base + "requirements:\n  - min_accuracy: high\n    attack: fgsm\n    eps: 0.1\n", `line 5, column 19: want a number`},
		{base + "requirements:\n  - min_accuracy: 0.5\n    eps: 0.1\n", "exactly one of attack or worst_case"},
		{base + "requirements:\n  - min_accuracy: 0.5\n    attack: fgsm\n", "needs eps"},
		{base + "requirements:\n  - min_accuracy: 1.5\n    attack: fgsm\n    eps: 0.1\n", "out of range"},
		{base + "requirements:\n  - min_clean_accuracy: 0.5\n    use: p5\n", "does not take use"},
		{base + "requirements:\n  - min_cosine: 0.5\n    min_accuracy: 0.5\n", "one kind"},
		{base + "requirements:\n  - min_median_min_norm: 1\n", "needs an attack"},
		{base + "requirements: [{min_clean_accuracy: 0.5}]\neps: {l3: [0]}\n", "want linf, l2 or l1"},
		{base + "requirements:\n  - min_accuracy: 0.5\n    worst_case: l3\n    eps: 1\n", "l3"},
		{base + "requirements:\n  - min_median_min_norm: 1\n    attack: fmn\n    eps: 0.3\n", "takes no worst_case or eps"},
		{base + "requirements:\n  - min_median_min_norm: -1\n    attack: fmn\n", "want a norm ≥ 0"},
		{base + "requirements:\n  - min_median_min_norm: 1\n    attack: fmn\n    use: p5\n", "does not take use"},
		{base + "requirements: [{max_flags: {severe: 1}}]\n", `unknown key "severe"`},
		{base + "requirements: [{min_clean_accuracy: 0.5}]\nbatch: 0\n", "integer ≥ 1"},
		{base + "requirements: [{min_clean_accuracy: 0.5}]\neps: [0, x]\n", "eps"},
		{base + "requirements: [{min_clean_accuracy: 0.5}]\nseed: [1]\n", "want an integer, got a list"},
		{"apiVersion: advcheck/policy/v1\nattacks: [fgsm]\nrequirements: [{min_clean_accuracy: 0.5}]\n", `needs "model"`},
		{"{{{", "bad policy"},
		{base + "requirements: [{min_clean_accuracy: 0.5}]\nmodel: x\n", "given twice"},
		{"apiVersion: advcheck/policy/v1\nmodel: {path: m.onnx, scale: 0}\nattacks: [fgsm]\nrequirements: [{min_clean_accuracy: 0.5}]\n", "line 2, column 30: model.scale 0: want a positive finite number"},
		{"apiVersion: advcheck/policy/v1\nmodel: {path: m.onnx, bounds: [0, 0]}\nattacks: [fgsm]\nrequirements: [{min_clean_accuracy: 0.5}]\n", "model.bounds [0 0]: want LO < HI"},
		{"apiVersion: advcheck/policy/v1\nmodel: {path: m.onnx, std: [1]}\nattacks: [fgsm]\nrequirements: [{min_clean_accuracy: 0.5}]\n", "model.std [1]: given without mean"},
	} {
		_, err := ParsePolicy(strings.NewReader(c.doc))
		if err == nil || !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("policy %q: error %v, want one saying %q", c.doc, err, c.want)
		}
	}
}

// hostilePolicies are policies that a lenient reader would run differently
// from what they appear to say; each must be refused with its position.
var hostilePolicies = []struct{ name, doc, want string }{
	{"repeated param", policyHead + "attacks:\n  - name: pgd\n    params:\n      steps: 40\n      steps: 1\n",
		"line 8, column 7: parameter steps is given twice"},
	{"param smuggles a param", policyHead + "attacks:\n  - name: pgd\n    params: {steps: \"1,restarts=1\"}\n",
		`line 6, column 21: parameter steps "1,restarts=1" holds ","`},
	{"param value with =", policyHead + "attacks:\n  - name: pgd\n    params: {steps: \"restarts=1\"}\n",
		`line 6, column 21: parameter steps "restarts=1" holds "="`},
	{"param name with ,", policyHead + "attacks:\n  - name: pgd\n    params: {\"steps=1,restarts\": 2}\n",
		`line 6, column 14: parameter name "steps=1,restarts" holds "="`},
	{"param value a list", policyHead + "attacks:\n  - name: pgd\n    params: {steps: [1, 2]}\n",
		"line 6, column 21: parameter steps must be a number, a word or a boolean, got a list"},
	{"param value null", policyHead + "attacks:\n  - name: pgd\n    params: {steps: }\n",
		"line 6, column 21: parameter steps must be a number, a word or a boolean, got nothing"},
	{"name with params", policyHead + "attacks:\n  - name: \"pgd:steps=1\"\n    params: {restarts: 2}\n",
		`line 5, column 11: attack name "pgd:steps=1" holds ":"`},
	{"spec with two colons", policyHead + "attacks:\n  - \"pgd:steps=1,target=a:b\"\n",
		"line 5, column 5: attack \"pgd:steps=1,target=a:b\": ':' separates"},
	{"repeated attack", policyHead + "attacks:\n  - fgsm\n  - pgd\n  - name: fgsm\n",
		"line 7, column 5: attack fgsm is given twice (first on line 5)"},
	{"unknown param", policyHead + "attacks:\n  - name: pgd\n    params: {stepz: 3}\n",
		`line 5, column 5: bad attack spec: pgd has no parameter "stepz"`},
	{"comma list in one item", policyHead + "attacks:\n  - fgsm,pgd\n",
		`line 5, column 5: bad attack spec: unknown attack "fgsm,pgd"`},
	{"second document", policyHead + "attacks: [fgsm]\n---\napiVersion: advcheck/policy/v1\n",
		"line 5, column 1: a second YAML document"},
	{"empty second document", policyHead + "attacks: [fgsm]\n---\n",
		"a second YAML document"},
	{"repeated eps norm", policyHead + "attacks: [fgsm]\neps:\n  linf: [0, 0.3]\n  linf: [0.1]\n",
		"line 7, column 3: eps.linf is given twice"},
	{"eps item holds a list", policyHead + "attacks: [fgsm]\neps: [0, \"0.1,0.9\"]\n",
		`line 5, column 10: eps value "0.1,0.9" holds ","`},
	{"eps item adds a norm", policyHead + "attacks: [fgsm]\neps: {linf: [\"0.1 l2=5\"]}\n",
		`line 5, column 14: eps value "0.1 l2=5" holds " "`},
}

const policyHead = "apiVersion: advcheck/policy/v1\nmodel: m.onnx\nrequirements: [{min_clean_accuracy: 0.5}]\n"

func TestPolicyRefusesAmbiguity(t *testing.T) {
	for _, c := range hostilePolicies {
		_, err := ParsePolicy(strings.NewReader(c.doc))
		if err == nil || !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	// The canonical forms of the same content are accepted.
	p, err := ParsePolicy(strings.NewReader(policyHead + "attacks:\n  - name: pgd\n    params: {steps: 40, restarts: 2, rel_step: 8/255, random_start: false}\n  - \"fgsm:norm=l2\"\neps: {linf: [0, \"0:0.3:0.1\"], l2: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pgd:random_start=false,rel_step=8/255,restarts=2,steps=40", "fgsm:norm=l2"}; strings.Join(p.Attacks, " ") != strings.Join(want, " ") {
		t.Errorf("attacks %q, want %q", p.Attacks, want)
	}
	if p.Eps != "linf=0,0:0.3:0.1 l2=1" {
		t.Errorf("eps %q", p.Eps)
	}
}

// TestPolicyCertify: certify lists methods as sweep --certify takes them,
// and min_certified_accuracy names one of them or the worst case of a norm
// with ibp or crown.
func TestPolicyCertify(t *testing.T) {
	base := "apiVersion: advcheck/policy/v1\nmodel: m.onnx\nattacks: [fgsm]\n"
	p, err := ParsePolicy(strings.NewReader(base + "certify: [ibp, \"smoothing:sigma=0.25,n=1000\"]\nrequirements:\n  - min_certified_accuracy: 0.5\n    certify: smoothing\n    eps: 0.5\n    use: lower_ci\n  - min_certified_accuracy: 0.2\n    worst_case: linf\n    eps: 0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Certify, " ") != "ibp smoothing:n=1000" || len(p.Requirements) != 2 || p.Requirements[0].Certify != "smoothing" || p.Requirements[0].Use != "lower_ci" || p.Requirements[1].Use != "point" {
		t.Errorf("policy %+v", p)
	}
	if id := p.Requirements[0].CheckID("smoothing:n=1000"); id != "certified/smoothing:n=1000/0.5/min_certified_accuracy" {
		t.Errorf("check id %q", id)
	}
	if id := p.Requirements[1].CheckID(""); id != "worst_case/linf/0.1/min_certified_accuracy" {
		t.Errorf("check id %q", id)
	}
	for _, c := range []struct{ doc, want string }{
		{"certify: [lp]\nrequirements: [{min_clean_accuracy: 0.5}]\n", `unknown method "lp"`},
		{"certify: [ibp, ibp]\nrequirements: [{min_clean_accuracy: 0.5}]\n", "given twice"},
		{"certify: [\"smoothing:sigma=1:2\"]\nrequirements: [{min_clean_accuracy: 0.5}]\n", "appears once"},
		{"certify: []\nrequirements: [{min_clean_accuracy: 0.5}]\n", "non-empty list"},
		{"certify: [ibp]\nrequirements:\n  - min_certified_accuracy: 0.5\n    certify: crown\n    eps: 0.1\n", "not among the policy's certify"},
		{"certify: [smoothing]\nrequirements:\n  - min_certified_accuracy: 0.5\n    worst_case: linf\n    eps: 0.1\n", "needs ibp or crown"},
		{"certify: [ibp]\nrequirements:\n  - min_certified_accuracy: 0.5\n    certify: ibp\n", "needs eps and exactly one"},
		{"certify: [ibp]\nrequirements:\n  - min_certified_accuracy: 0.5\n    certify: ibp\n    worst_case: linf\n    eps: 0.1\n", "exactly one"},
		{"certify: [ibp]\nrequirements:\n  - min_certified_accuracy: 1.5\n    certify: ibp\n    eps: 0.1\n", "out of range"},
		{"certify: [ibp]\nrequirements:\n  - min_accuracy: 0.5\n    certify: ibp\n    attack: fgsm\n    eps: 0.1\n", "takes no certify"},
		{"certify: [ibp]\nrequirements:\n  - min_certified_accuracy: 0.5\n    certify: ibp\n    eps: 0.1\n    use: p5\n", "does not take use"},
	} {
		_, err := ParsePolicy(strings.NewReader(base + c.doc))
		if err == nil || !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.doc, err, c.want)
		}
	}
}
