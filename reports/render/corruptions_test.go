package render

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/advcheck/advcheck/reports"
)

// corruptionReport sweeps the fixture with fgsm (unless attacks is false)
// and two corruptions of package attacks/corruption at severities 1, 3, 5.
func corruptionReport(t *testing.T, withAttacks bool) *reports.Report {
	t.Helper()
	m, src := fixture(t, 12)
	p := plan(t, m, src, "fgsm")
	if !withAttacks {
		p.Attacks, p.Checks = nil, false
	}
	for _, n := range []string{"brightness", "contrast"} {
		c, err := reports.NewCorruption(n, m.Spec().Shape)
		if err != nil {
			t.Fatal(err)
		}
		p.Corruptions = append(p.Corruptions, c)
	}
	p.Severities = []int{1, 3, 5}
	base := reports.Report{Model: reports.ModelOf("fixture.onnx", m), Dataset: reports.Dataset{LabelSource: "truth"}}
	r, err := reports.Evaluate(context.Background(), p, base, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The page shows every corruption cell's accuracy, the accuracy-vs-severity
// plot and the example grid (one image per corruption and severity, and the
// clean one), and loads in Chromium with every image and no script error.
func TestCorruptionHTMLInChromium(t *testing.T) {
	browser := chromium(t)
	for _, withAttacks := range []bool{true, false} {
		r := corruptionReport(t, withAttacks)
		var buf bytes.Buffer
		if err := HTML(&buf, r); err != nil {
			t.Fatal(err)
		}
		dom, attr := loadInChromium(t, browser, buf.Bytes())
		if e := attr("data-js-errors"); e != "" {
			t.Errorf("%s script errors in the page", e)
		}
		plots := "1"
		if withAttacks {
			plots = "3" // accuracy and cosine over L∞ eps, and over severity
		}
		if got := attr("data-plots-rendered"); got != plots {
			t.Errorf("attacks %v: plots rendered %q, want %s", withAttacks, got, plots)
		}
		images := 2*(1+3) + 3*len(r.Examples) // per corruption: clean and 3 severities
		if got, want := attr("data-images-loaded"), fmt.Sprintf("%d/%d", images, images); got != want {
			t.Errorf("attacks %v: images loaded %q, want %s", withAttacks, got, want)
		}
		for _, want := range []string{"Accuracy vs corruption severity", "<h2>Corruption examples</h2>", "Corruption accuracy " + pct(r.Corruptions.Overall.Accuracy)} {
			if !strings.Contains(dom, want) {
				t.Errorf("attacks %v: the page lacks %q", withAttacks, want)
			}
		}
		for _, res := range r.Corruptions.Results {
			row := fmt.Sprintf("<code>%s</code></td><td>%d</td><td>%s</td><td>%s</td><td>%d/%d</td>", res.Corruption, res.Severity, pct(res.Accuracy), ci(res.AccuracyCI95), res.NCorrect, res.N)
			if !strings.Contains(dom, row) {
				t.Errorf("attacks %v: row %s at %d not on the page as %s", withAttacks, res.Corruption, res.Severity, row)
			}
		}
		if strings.Contains(dom, "Robust accuracy vs eps") != withAttacks {
			t.Errorf("attacks %v: the adversarial plots are there: %v", withAttacks, !withAttacks)
		}
	}
}

// The terminal table lists every cell, the pooled rows and the overall
// corruption accuracy; without attacks it has no attack table.
func TestCorruptionTable(t *testing.T) {
	r := corruptionReport(t, false)
	var buf bytes.Buffer
	if err := Table(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "attacked") {
		t.Errorf("a sweep without attacks prints an attack table:\n%s", out)
	}
	c := r.Corruptions
	cell := func(v ...string) string { return `\|\s*` + strings.Join(v, `\s*\|\s*`) + `\s*\|` }
	for _, want := range []string{
		cell("corruption accuracy \\(overall\\)", "", regexp.QuoteMeta(pct(c.Overall.Accuracy)), "", fmt.Sprintf("%d/%d", c.Overall.NCorrect, c.Overall.N)),
		cell("contrast", "5", regexp.QuoteMeta(pct(c.Results[5].Accuracy)), regexp.QuoteMeta(ci(c.Results[5].AccuracyCI95)), fmt.Sprintf("%d/%d", c.Results[5].NCorrect, c.Results[5].N)),
		cell("brightness \\(all severities\\)", "", regexp.QuoteMeta(pct(c.ByCorruption[0].Accuracy))),
		cell("all corruptions", "3", regexp.QuoteMeta(pct(c.BySeverity[1].Accuracy))),
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
}

// A plain sweep's JUnit XML has a passing case per corruption and severity
// and one for the overall corruption accuracy, with the figures as output.
func TestCorruptionJUnit(t *testing.T) {
	r := corruptionReport(t, false)
	var buf bytes.Buffer
	if err := JUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	x := buf.String()
	for _, res := range r.Corruptions.Results {
		want := fmt.Sprintf(`<testcase name="corruptions/%s/%d" classname="advcheck.corruptions">`, res.Corruption, res.Severity)
		if !strings.Contains(x, want) {
			t.Errorf("JUnit lacks %s", want)
		}
	}
	if want := "corruption accuracy " + pct(r.Corruptions.Overall.Accuracy); !strings.Contains(x, want) || !strings.Contains(x, `tests="8" failures="0"`) {
		t.Errorf("JUnit lacks %q or has other counts:\n%s", want, x)
	}
}
