package render

import (
	"fmt"
	"html/template"
	"io"

	"github.com/olekukonko/tablewriter"

	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/reports"
)

// corruptionTable renders the corruption block for a terminal: one row per
// corruption and severity, then per severity and overall, then mCE.
func corruptionTable(w io.Writer, r *reports.Report) {
	c := r.Corruptions
	if c == nil {
		return
	}
	t := tablewriter.NewWriter(w)
	header := []string{"corruption", "severity", "accuracy", "95% CI", "correct", "cos logits", "cos p5", "cos min", "CE"}
	cols := len(header)
	if c.MCE == nil {
		cols-- // no baseline, no CE
	}
	row := func(v ...string) { t.Append(textsafe.Lines(v[:cols])) }
	t.SetHeader(header[:cols])
	t.SetAutoWrapText(false)
	t.SetAutoFormatHeaders(false)
	t.SetAlignment(tablewriter.ALIGN_RIGHT)
	align := []int{tablewriter.ALIGN_LEFT}
	for len(align) < cols {
		align = append(align, tablewriter.ALIGN_RIGHT)
	}
	t.SetColumnAlignment(align)
	ce := map[string]string{}
	if c.MCE != nil {
		for _, e := range c.MCE.Corruptions {
			ce[e.Corruption] = num(e.CE, "%.3f")
		}
	}
	for _, res := range c.Results {
		row(res.Corruption, fmt.Sprint(res.Severity), pct(res.Accuracy), ci(res.AccuracyCI95), fmt.Sprintf("%d/%d", res.NCorrect, res.N),
			num(res.Cosine.Logits.Mean, "%.3f"), num(res.Cosine.Logits.P5, "%.3f"), num(res.Cosine.Logits.Min, "%.3f"), "")
	}
	for _, bc := range c.ByCorruption {
		row(bc.Corruption+" (all severities)", "", pct(bc.Accuracy), "", fmt.Sprintf("%d/%d", bc.NCorrect, bc.N), "", "", "", ce[bc.Corruption])
	}
	for _, bs := range c.BySeverity {
		row("all corruptions", fmt.Sprint(bs.Severity), pct(bs.Accuracy), "", fmt.Sprintf("%d/%d", bs.NCorrect, bs.N), "", "", "", "")
	}
	mce := ""
	if c.MCE != nil {
		mce = num(c.MCE.MCE, "%.3f")
	}
	row("corruption accuracy (overall)", "", pct(c.Overall.Accuracy), "", fmt.Sprintf("%d/%d", c.Overall.NCorrect, c.Overall.N), "", "", "", mce)
	t.Render()
	if m := c.MCE; m != nil {
		b := r.Config.CorruptionBaseline
		fmt.Fprintf(w, "mCE %s, relative mCE %s (baseline %s, sha256 %s)\n", num(m.MCE, "%.3f"), num(m.RelativeMCE, "%.3f"),
			textsafe.Line(b.ModelPath), textsafe.Line(short(b.ModelSHA256)))
	}
}

// corruptionMarkdown renders the per-severity and overall corruption accuracy.
func corruptionMarkdown(w io.Writer, r *reports.Report) {
	c := r.Corruptions
	if c == nil {
		return
	}
	fmt.Fprintf(w, "\n| corruptions | accuracy | correct |\n|---|---:|---:|\n")
	for _, bs := range c.BySeverity {
		fmt.Fprintf(w, "| severity %d | %s | %d/%d |\n", bs.Severity, pct(bs.Accuracy), bs.NCorrect, bs.N)
	}
	fmt.Fprintf(w, "| **overall** | %s | %d/%d |\n", pct(c.Overall.Accuracy), c.Overall.NCorrect, c.Overall.N)
	if m := c.MCE; m != nil {
		fmt.Fprintf(w, "\nmCE %s, relative mCE %s against %s\n", num(m.MCE, "%.3f"), num(m.RelativeMCE, "%.3f"), mdEscape(r.Config.CorruptionBaseline.ModelPath))
	}
}

// corruptionPlot draws accuracy against severity per corruption, with the
// clean accuracy at severity 0, and the mean over corruptions dashed.
func corruptionPlot(r *reports.Report) []template.HTML {
	c := r.Corruptions
	if c == nil || len(c.Results) == 0 {
		return nil
	}
	var ss []series
	start := func(name string, dashed bool) series {
		s := series{name: name, dashed: dashed}
		if r.Clean.Accuracy.Valid() {
			s.xs, s.ys = []float64{0}, []float64{float64(r.Clean.Accuracy)}
			s.lo, s.hi = []float64{float64(r.Clean.AccuracyCI95[0])}, []float64{float64(r.Clean.AccuracyCI95[1])}
		}
		return s
	}
	for _, cc := range r.Config.Corruptions {
		s := start(cc.Name, false)
		for _, res := range c.Results {
			if res.Corruption == cc.Name {
				s.xs, s.ys = append(s.xs, float64(res.Severity)), append(s.ys, float64(res.Accuracy))
				s.lo, s.hi = append(s.lo, float64(res.AccuracyCI95[0])), append(s.hi, float64(res.AccuracyCI95[1]))
			}
		}
		// The bands of many corruptions would cover each other: the
		// table gives the intervals.
		s.lo, s.hi = nil, nil
		ss = append(ss, s)
	}
	mean := start("all corruptions", true)
	mean.lo, mean.hi = nil, nil
	for _, bs := range c.BySeverity {
		mean.xs, mean.ys = append(mean.xs, float64(bs.Severity)), append(mean.ys, float64(bs.Accuracy))
	}
	ss = append(ss, mean)
	return []template.HTML{linePlot("corruption-accuracy", "Accuracy vs corruption severity (0 = clean)", "severity", "accuracy", ss, 0, 1)}
}

// htmlCorruptionRow is one corruption of the example grid.
type htmlCorruptionRow struct {
	Corruption string
	Cells      []htmlCorruptionCell
}

type htmlCorruptionCell struct {
	Severity int
	URL      template.URL
	PredName string
	Correct  bool
}

// htmlCorruptionGrid is the example grid: one sample, clean and under every
// corruption (rows) and severity (columns).
type htmlCorruptionGrid struct {
	Index      int
	LabelName  string
	CleanName  string
	CleanURL   template.URL
	Severities []int
	Rows       []htmlCorruptionRow
}

func corruptionGrid(r *reports.Report) *htmlCorruptionGrid {
	if len(r.CorruptionExamples) == 0 {
		return nil
	}
	ex := r.CorruptionExamples[0]
	g := &htmlCorruptionGrid{Index: ex.Index, LabelName: className(r.Model.Classes, ex.Label), CleanName: className(r.Model.Classes, ex.CleanPred),
		CleanURL: safeImage(ex.Clean), Severities: r.Config.Severities}
	for _, cc := range r.Config.Corruptions {
		row := htmlCorruptionRow{Corruption: cc.Name}
		for _, sev := range r.Config.Severities {
			cell := htmlCorruptionCell{Severity: sev}
			for _, im := range ex.Images {
				if im.Corruption == cc.Name && im.Severity == sev {
					cell.URL, cell.PredName, cell.Correct = safeImage(im.Image), className(r.Model.Classes, im.Pred), im.Pred == ex.Label
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}
