package render

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/reports"
)

// atZero certifies every sample at eps 0 and none beyond: sound for any
// model (the clean point is classified as the label, the fixture's samples
// it misclassifies are not asked), and it leaves a band up to the attacks.
type atZero struct{}

func (atZero) CertifyLinf(_ context.Context, _ string, _ []float32, eps float64, _ int) (bool, string, error) {
	return eps == 0, "", nil
}

// TestCertifiedHTMLInChromium: with ibp and smoothing in the report, the
// L∞ accuracy plot shades the band [certified, attacked], the L2 plot has
// the smoothed classifier's curve without a band, and the page says what
// smoothing certifies; the text table has the certified rows.
func TestCertifiedHTMLInChromium(t *testing.T) {
	browser := chromium(t)
	m, src := fixture(t, 12)
	p := plan(t, m, src, "fgsm", "pgd:steps=3,norm=l2")
	p.Checks, p.Examples = false, 0
	for _, spec := range []string{"ibp", "smoothing:sigma=0.1,n0=10,n=50"} {
		c, err := reports.ParseCertify(spec)
		if err != nil {
			t.Fatal(err)
		}
		p.Certify = append(p.Certify, c)
	}
	p.Bounds = atZero{}
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := HTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if n := strings.Count(page, `<polygon class="interval"`); n != 1 {
		t.Errorf("%d interval bands in the page, want 1 (L∞)", n)
	}
	dom, attr := loadInChromium(t, browser, buf.Bytes())
	if e := attr("data-js-errors"); e != "" {
		t.Errorf("%s script errors in the page", e)
	}
	if got := attr("data-interval-bands"); got != "1" {
		t.Errorf("interval bands rendered: %q, want 1", got)
	}
	for _, want := range []string{"<h2>Certification</h2>", "robust accuracy linf eps 0.05 ∈ [0.0%,", "smoothed g: smoothing:", "certifies g, the smoothed classifier, not the model"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	var text bytes.Buffer
	if err := Table(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| certified ibp ", "certified smoothing:n0=10,n=50,sigma=0.1 (smoothed g)", "robust accuracy linf eps 0.02 ∈ [0.0%,"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, text.String())
		}
	}
}
