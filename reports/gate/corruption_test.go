package gate

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// A policy names the corruptions and severities its sweep runs and bounds
// their accuracy overall, per severity, per corruption or per cell.
func TestCorruptionPolicy(t *testing.T) {
	doc := `apiVersion: advcheck/policy/v1
model: zoo:mnist-cnn
corruptions: [contrast, brightness]
severity: "2:4"
requirements:
  - min_corruption_accuracy: 0.8
  - min_corruption_accuracy: 0.7
    severity: 4
  - min_corruption_accuracy: 0.6
    corruption: contrast
    severity: 3
    use: lower_ci
`
	p, err := ParsePolicy(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Corruptions, []string{"contrast", "brightness"}) || !slices.Equal(p.Severities, []int{2, 3, 4}) || len(p.Attacks) != 0 {
		t.Fatalf("corruptions %v at %v, attacks %v", p.Corruptions, p.Severities, p.Attacks)
	}
	q := p.Requirements
	if q[0].Use != "point" || q[1].Severity != 4 || q[2].Corruption != "contrast" || q[2].Severity != 3 || q[2].Use != "lower_ci" {
		t.Errorf("requirements %+v", q)
	}
	if q[2].CheckID("") != "corruptions/contrast/3/min_corruption_accuracy" || q[0].CheckID("") != "corruptions/all/all/min_corruption_accuracy" {
		t.Errorf("check ids %s, %s", q[2].CheckID(""), q[0].CheckID(""))
	}
	all, err := ParsePolicy(strings.NewReader(strings.Replace(strings.Replace(doc, "[contrast, brightness]", "all", 1), "severity: \"2:4\"\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Corruptions) < 6 || !slices.Equal(all.Severities, []int{1, 2, 3, 4, 5}) {
		t.Errorf("corruptions: all gives %v at %v", all.Corruptions, all.Severities)
	}
	head := "apiVersion: advcheck/policy/v1\nmodel: m.onnx\n"
	req := "requirements: [{min_clean_accuracy: 0.5}]\n"
	for _, c := range []struct{ doc, want string }{
		{head + req, "needs attacks, corruptions or both"},
		{head + "attacks: [fgsm]\nseverity: [1]\n" + req, "severity is for corruptions"},
		{head + "corruptions: [haze]\n" + req, "unknown corruption"},
		{head + "corruptions: [contrast, contrast]\n" + req, "given twice"},
		{head + "corruptions: []\n" + req, "all or a non-empty list"},
		{head + "corruptions: [contrast]\nseverity: [0, 1]\n" + req, "want levels 1 to 5"},
		{head + "attacks: [fgsm]\nrequirements: [{min_corruption_accuracy: 0.5}]\n", "needs corruptions in the policy"},
		{head + "corruptions: [contrast]\nrequirements: [{min_corruption_accuracy: 0.5, corruption: brightness}]\n", "not among the policy's corruptions"},
		{head + "corruptions: [contrast]\nseverity: [1]\nrequirements: [{min_corruption_accuracy: 0.5, severity: 2}]\n", "not among the policy's severities"},
		{head + "corruptions: [contrast]\nrequirements: [{min_corruption_accuracy: 0.5, severity: 6}]\n", "severity 6"},
		{head + "corruptions: [contrast]\nrequirements: [{min_corruption_accuracy: 0.5, use: lower_ci}]\n", "needs a corruption and a severity"},
		{head + "corruptions: [contrast]\nrequirements: [{min_corruption_accuracy: 1.5}]\n", "out of range"},
		{head + "corruptions: [contrast]\nrequirements: [{min_corruption_accuracy: 0.5, use: p5}]\n", "does not take use"},
		{head + "corruptions: [contrast]\nrequirements: [{min_clean_accuracy: 0.5, corruption: contrast}]\n", "takes no corruption or severity"},
		{head + "corruptions: [contrast]\nrequirements: [{min_corruption_accuracy: 0.5, attack: fgsm}]\n", "takes no attack"},
		{head + "corruptions: [contrast]\ntask: embedding\n" + req, "need classes"},
	} {
		_, err := ParsePolicy(strings.NewReader(c.doc))
		if err == nil || !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("policy %q: error %v, want one saying %q", c.doc, err, c.want)
		}
	}
}
