package render

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models"
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

// TestL1MeanRendered: the terminal table and the HTML results table have an
// L1 mean column beside L∞ and L2, with each row's l1_mean, for classifiers
// and embedding tasks alike; a report written before l1_mean existed renders
// without the column, every row as wide as its header.
func TestL1MeanRendered(t *testing.T) {
	m, src := fixture(t, 8)
	g, err := reports.ParseEps("linf=0,0.05 l1=0,4")
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, m, src, "apgd-ce:norm=l1,iters=3", "fgsm")
	p.Eps = g
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := plan(t, m, src, "fgsm")
	e.Task, e.OutputLoss, e.Checks, e.Examples = reports.TaskEmbedding, models.OutputCosine, false, 0
	emb, err := newReport(t, e, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    *reports.Report
		th   string
	}{{"classifier", r, "<th>L1 mean (attacked)</th>"}, {"embedding", emb, "<th>L1 mean</th>"}} {
		var table, page bytes.Buffer
		if err := Table(&table, c.r); err != nil {
			t.Fatal(err)
		}
		if err := HTML(&page, c.r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(table.String(), "L1 mean") || !strings.Contains(page.String(), c.th) {
			t.Errorf("%s: no L1 mean column:\n%s", c.name, table.String())
		}
		rows := resultRows(t, page.String())
		lines := strings.Split(table.String(), "\n")
		for k, res := range c.r.Results {
			cell := fmt.Sprintf("%.3g", float64(*res.Perturbation.L1Mean))
			if !strings.HasSuffix(rows[k], "<td>"+cell+"</td>") {
				t.Errorf("%s: %s at eps %g: the page's row does not end in l1_mean %s: %s", c.name, res.AttackID, res.Eps, cell, rows[k])
			}
			line := lines[k+len(headerLines(c.r))+4] // after the header lines, the rule, two heading lines and the rule
			if cells := strings.Split(line, "|"); len(cells) < 4 || strings.TrimSpace(cells[len(cells)-3]) != cell {
				t.Errorf("%s: %s at eps %g: the table's row has no l1_mean %s before the queries: %s", c.name, res.AttackID, res.Eps, cell, line)
			}
		}
	}
	// The same report as written before l1_mean existed.
	for k := range r.Samples.Outcomes {
		r.Samples.Outcomes[k].L1 = nil
	}
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	var table, page bytes.Buffer
	if err := Table(&table, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), "L1 mean") || strings.Contains(page.String(), "L1 mean") {
		t.Errorf("a report without l1_mean shows its column:\n%s", table.String())
	}
	resultRows(t, page.String())
}

// resultRows returns the cells of each row of the page's results table,
// checking that every row has as many cells as the header.
func resultRows(t *testing.T, page string) []string {
	t.Helper()
	i := strings.Index(page, "<h2>Results</h2>")
	if i < 0 {
		t.Fatal("the page has no results table")
	}
	table := page[i:]
	table = table[strings.Index(table, "<table>"):strings.Index(table, "</table>")]
	lines := strings.Split(strings.TrimSpace(table), "\n")
	head := strings.Count(lines[0], "<th")
	var rows []string
	for _, l := range lines[1:] {
		if n := strings.Count(l, "<td"); n != head {
			t.Errorf("a results row has %d cells, the header %d: %s", n, head, l)
		}
		rows = append(rows, strings.TrimSuffix(l, "</tr>"))
	}
	return rows
}
