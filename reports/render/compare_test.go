package render

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/reports"
	"github.com/advcheck/advcheck/reports/compare"
)

// comparison compares the committed reports of the zoo's MNIST CNN and its
// adversarially trained twin on the same 40 samples, under the given names.
func comparison(t *testing.T, names ...string) *compare.Comparison {
	t.Helper()
	var rs []*reports.Report
	for _, f := range []string{"compare-mnist-cnn.json", "compare-mnist-cnn-adv.json"} {
		r, err := reports.ReadFile(filepath.Join(testdata, "reports", f), 0)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	c, err := compare.New(names, rs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCompareHTMLInChromium loads a comparison page, with hostile text in
// the report names and model paths, in headless Chromium as
// TestHTMLInChromium does a report: no script errors, every plot drawn
// with a line per report, the hostile text shown as text.
func TestCompareHTMLInChromium(t *testing.T) {
	browser := chromium(t)
	evil := `<script>document.title="pwned"</script><img src=x onerror=alert(1)>`
	c := comparison(t, "v1"+evil+".json", "v2.json")
	c.Entries[1].Report.Model.Path = "models/" + evil + ".onnx"
	var buf bytes.Buffer
	if err := CompareHTML(&buf, c); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, evil) {
		t.Fatal("hostile text reached the page unescaped")
	}
	dom, attr := loadInChromium(t, browser, buf.Bytes())
	if e := attr("data-js-errors"); e != "" {
		t.Errorf("%s script errors in the page", e)
	}
	// fgsm and pgd:steps=5 (L∞): accuracy and cosine each.
	if p := attr("data-plots-rendered"); p != "4" {
		t.Errorf("plots rendered: %q, want 4", p)
	}
	for _, id := range []string{"accuracy-0", "cosine-0", "accuracy-1", "cosine-1"} {
		m := regexp.MustCompile(`(?s)<svg class="plot" id="` + id + `".*?</svg>`).FindString(dom)
		if n := strings.Count(m, `class="series"`); n != 2 {
			t.Errorf("plot %s has %d series, want one per report", id, n)
		}
	}
	if strings.Contains(dom, "<title>pwned") || strings.Contains(dom, "<img src=\"x\"") {
		t.Error("hostile markup became part of the page")
	}
	for _, want := range []string{"Robust accuracy vs eps: fgsm (linf)", "Robust accuracy vs eps: pgd:steps=5 (linf)", "newly broken", "McNemar p"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
}

// The table and Markdown carry a row per report, attack and eps, with the
// changes of the later report against the baseline.
func TestCompareTableAndMarkdown(t *testing.T) {
	c := comparison(t, "cnn.json", "cnn-adv.json")
	var table, md bytes.Buffer
	if err := CompareTable(&table, c); err != nil {
		t.Fatal(err)
	}
	if err := CompareMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	// 2 clean rows + 2 attacks × 4 eps × 2 reports.
	if n := strings.Count(md.String(), "\n| "); n != 1+2+16 {
		t.Errorf("Markdown has %d table lines, want a header and 18 rows:\n%s", n, md.String())
	}
	for _, want := range []string{"A        cnn.json: model zoo:mnist-cnn", "B        cnn-adv.json: model zoo:mnist-cnn-adv", "chi2-cc", "exact"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table does not say %q:\n%s", want, table.String())
		}
	}
}
