package render

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/reports"
	"github.com/advcheck/advcheck/reports/compare"
)

// compareHeader lists the reports compared, the first being the baseline.
func compareHeader(c *compare.Comparison) []string {
	safe := textsafe.Line
	d := c.Entries[0].Report.Dataset
	lines := []string{fmt.Sprintf("data     %s (%d samples, sha256 %s, labels: %s)", safe(d.Spec), d.Samples, safe(short(d.SHA256Decoded)), safe(d.LabelSource))}
	for i, e := range c.Entries {
		r := e.Report
		role := ""
		if i == 0 {
			role = ", the baseline"
		}
		lines = append(lines, fmt.Sprintf("%s        %s: model %s (sha256 %s), clean accuracy %s %s%s", letter(i), safe(e.Name),
			safe(r.Model.Path), safe(short(r.Model.SHA256)), pct(r.Clean.Accuracy), ci(r.Clean.AccuracyCI95), role))
	}
	return lines
}

// letter names report i in tables and plots: A, B, C, …
func letter(i int) string { return string(rune('A' + i%26)) }

func pval(ch *compare.Change) string {
	if ch.P < 1e-3 {
		return fmt.Sprintf("%.1e", ch.P)
	}
	return fmt.Sprintf("%.4f", ch.P)
}

func delta(n reports.Num, scale float64, format string) string {
	if !n.Valid() {
		return "—"
	}
	return fmt.Sprintf(format, scale*float64(n))
}

func testName(ch *compare.Change) string {
	if ch.Exact {
		return "exact"
	}
	return "chi2-cc"
}

// compareLines are the rows of the change table: for every attack and eps,
// the baseline and then each later report with its change.
func compareLines(c *compare.Comparison, esc func(string) string) [][]string {
	var out [][]string
	cleanRow := func(i int) []string {
		r := c.Entries[i].Report
		row := []string{"clean", "", "", letter(i), pct(r.Clean.Accuracy)}
		if i == 0 {
			return append(row, "", "", "", "", "", "", "")
		}
		ch := &c.Clean[i-1]
		return append(row, delta(ch.Accuracy, 100, "%+.1f pp"), pval(ch), testName(ch), fmt.Sprint(ch.NewlyBroken), fmt.Sprint(ch.NewlyRobust), "", "")
	}
	for i := range c.Entries {
		out = append(out, cleanRow(i))
	}
	for _, row := range c.Rows {
		for i, v := range row.Values {
			line := []string{esc(row.AttackID), esc(row.Norm), fmt.Sprintf("%g", row.Eps), letter(i)}
			if v == nil {
				out = append(out, append(line, "not run", "", "", "", "", "", "", ""))
				continue
			}
			line = append(line, pct(v.Accuracy))
			var ch *compare.Change
			if i > 0 {
				ch = row.Changes[i-1]
			}
			if ch == nil {
				line = append(line, "", "", "", "", "", num(v.Cosine.Logits.Mean, "%.3f"), "")
			} else {
				line = append(line, delta(ch.Accuracy, 100, "%+.1f pp"), pval(ch), testName(ch), fmt.Sprint(ch.NewlyBroken), fmt.Sprint(ch.NewlyRobust),
					num(v.Cosine.Logits.Mean, "%.3f"), delta(ch.Cosine, 1, "%+.3f"))
			}
			out = append(out, line)
		}
	}
	return out
}

var compareColumns = []string{"attack", "norm", "eps", "report", "accuracy", "Δ accuracy", "McNemar p", "test", "newly broken", "newly robust", "cos logits (attacked)", "Δ cos"}

// compareNote says what the columns mean; every rendering carries it.
const compareNote = "Δ compares each report with the baseline A on the same samples. Newly broken: samples A classified correctly and this report does not (newly robust: the reverse). " +
	"McNemar p is two-sided over those discordant samples: exact binomial (exact) with fewer than 25 of them, else chi-square with continuity correction (chi2-cc)."

// CompareTable renders a comparison for a terminal: the reports, then one
// line per attack, eps and report with the change against the baseline.
func CompareTable(w io.Writer, c *compare.Comparison) error {
	for _, l := range compareHeader(c) {
		fmt.Fprintln(w, l)
	}
	t := tablewriter.NewWriter(w)
	t.SetHeader(compareColumns)
	t.SetAutoWrapText(false)
	t.SetAutoFormatHeaders(false)
	l, r := tablewriter.ALIGN_LEFT, tablewriter.ALIGN_RIGHT
	t.SetColumnAlignment([]int{l, l, r, l, r, r, r, l, r, r, r, r})
	t.AppendBulk(compareLines(c, textsafe.Line))
	t.Render()
	fmt.Fprintln(w, compareNote)
	return nil
}

// CompareMarkdown renders a comparison for a pull-request comment.
func CompareMarkdown(w io.Writer, c *compare.Comparison) error {
	fmt.Fprintf(w, "### advcheck comparison\n\n")
	for _, l := range compareHeader(c) {
		fmt.Fprintf(w, "- %s\n", mdEscape(l))
	}
	fmt.Fprintf(w, "\n| %s |\n|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|\n", strings.Join(compareColumns, " | "))
	for _, l := range compareLines(c, mdEscape) {
		fmt.Fprintf(w, "| %s |\n", strings.Join(l, " | "))
	}
	fmt.Fprintf(w, "\n%s\n", mdEscape(compareNote))
	return nil
}

type comparePage struct {
	C       *compare.Comparison
	CSP     string
	Script  template.JS
	Header  []string
	Plots   []template.HTML
	Columns []string
	Lines   [][]string
	Note    string
}

// CompareHTML renders a comparison as one self-contained page, as HTML
// renders a report: per attack, the accuracy and cosine curves of every
// report on the same axes, then the change table.
func CompareHTML(w io.Writer, c *compare.Comparison) error {
	p := comparePage{C: c, Script: template.JS(pageScript),
		CSP:     "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src '" + scriptHash + "'",
		Header:  compareHeader(c),
		Plots:   comparePlots(c),
		Columns: compareColumns,
		Lines:   compareLines(c, func(s string) string { return s }),
		Note:    compareNote,
	}
	return comparePageTemplate.Execute(w, p)
}

// comparePlots draws, per attack, accuracy (with 95% bands) and the mean
// logit cosine over the attacked samples against eps, one series per report.
func comparePlots(c *compare.Comparison) []template.HTML {
	var out []template.HTML
	for start := 0; start < len(c.Rows); {
		end := start
		for end < len(c.Rows) && c.Rows[end].AttackID == c.Rows[start].AttackID && c.Rows[end].Norm == c.Rows[start].Norm {
			end++
		}
		group := c.Rows[start:end]
		a := group[0]
		var acc, cos []series
		for i, e := range c.Entries {
			name := letter(i) + " " + e.Name
			sa, sc := series{name: name}, series{name: name}
			for _, row := range group {
				v := row.Values[i]
				if v == nil {
					continue
				}
				sa.xs = append(sa.xs, v.Eps)
				sa.ys = append(sa.ys, float64(v.Accuracy))
				sa.lo = append(sa.lo, float64(v.AccuracyCI95[0]))
				sa.hi = append(sa.hi, float64(v.AccuracyCI95[1]))
				if v.Cosine.Logits.Mean.Valid() {
					sc.xs = append(sc.xs, v.Eps)
					sc.ys = append(sc.ys, float64(v.Cosine.Logits.Mean))
				}
			}
			acc, cos = append(acc, sa), append(cos, sc)
		}
		id := fmt.Sprintf("%d", len(out)/2)
		out = append(out, linePlot("accuracy-"+id, "Robust accuracy vs eps: "+a.AttackID+" ("+a.Norm+")", "eps ("+a.Norm+", pixel units)", "accuracy", acc, 0, 1))
		out = append(out, linePlot("cosine-"+id, "Cosine of clean and adversarial logits: "+a.AttackID+" ("+a.Norm+")", "eps ("+a.Norm+", pixel units)", "mean cosine (attacked)", cos, -1, 1))
		start = end
	}
	return out
}

var comparePageTemplate = template.Must(template.New("compare").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>advcheck comparison — {{range $i, $e := .C.Entries}}{{if $i}} vs {{end}}{{$e.Name}}{{end}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: right; } th { background: #f3f3f3; }
td.l, th.l { text-align: left; }
.plots svg { margin: .5rem 1rem .5rem 0; max-width: 100%; height: auto; }
code { word-break: break-all; }
</style>
</head>
<body>
<h1>advcheck comparison</h1>
<ul>{{range .Header}}<li><code>{{.}}</code></li>{{end}}</ul>
<h2>Plots</h2>
<div class="plots">{{range .Plots}}{{.}}{{end}}</div>
<h2>What changed</h2>
<p>{{.Note}}</p>
<table><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Lines}}<tr>{{range $i, $v := .}}<td{{if eq $i 0}} class="l"{{end}}>{{$v}}</td>{{end}}</tr>
{{end}}</table>
<script>{{.Script}}</script>
</body>
</html>
`))
