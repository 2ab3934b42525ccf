package render

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/reports"
)

// TestHTMLL1: a report with L1 attacks gets the L1 worst case in its
// headline and its accuracy, cosine and minimal-norm plots for L1.
func TestHTMLL1(t *testing.T) {
	m, src := fixture(t, 8)
	p := plan(t, m, src, "apgd-ce:norm=l1,iters=3", "fmn:norm=l1,steps=5", "fgsm")
	g, err := reports.ParseEps("linf=0,0.05 l1=0,4")
	if err != nil {
		t.Fatal(err)
	}
	p.Eps = g
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := HTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{`id="accuracy-l1"`, `id="cosine-l1"`, `id="min-norm-l1"`, "Worst-case l1 accuracy at eps 4", `id="accuracy-linf"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
}
