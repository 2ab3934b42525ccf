package render

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/reports"
)

// minNormReport is package reports' minimal-norm fixture (see
// reports/minnorm_test.go): the fixture sweep with two minimal-norm attacks.
func minNormReport(t *testing.T) *reports.Report {
	t.Helper()
	m, src := fixture(t, 23)
	p := plan(t, m, src, "fgsm", "deepfool:steps=5", "fmn:steps=10")
	p.Batch, p.Shard = 7, reports.Shard{I: 0, N: 1}
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Model.Outputs = []reports.TensorInfo{{Name: "logits", Shape: []int{-1, 10}}}
	return r
}

// The renderers show each minimal-norm attack's quartiles, and the HTML
// report plots its robustness curve.
func TestMinNormRendered(t *testing.T) {
	r := minNormReport(t)
	var text, md, page bytes.Buffer
	if err := Table(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Summary.MinNorm {
		want := "minimal norm " + m.AttackID + " (" + m.Norm + "): median " + num(m.Median, "%.4g") + " [p25 " + num(m.P25, "%.4g")
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q", want)
		}
		if want := "| " + mdEscape(m.AttackID) + " | " + m.Norm + " | "; !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
		if want := `<svg class="plot" id="min-norm-` + m.Norm + `"`; !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks the %s curve", m.Norm)
		}
		if want := "<code>" + m.AttackID + "</code></td><td>" + m.Norm + "</td><td>" + strconv.Itoa(m.NBroken); !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
