package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/reports"
)

// embeddingTable is Table's table for an embedding task: per
// attack and eps, the cosine of clean and adversarial outputs over every
// sample (mean, 5th percentile, minimum), the perturbation and the queries.
func embeddingTable(w io.Writer, r *reports.Report) error {
	t := tablewriter.NewWriter(w)
	l1 := hasL1Mean(r)
	header := []string{"attack", "norm", "eps", "samples", "cos outputs\nmean", "cos outputs\np5", "cos outputs\nmin", "L∞ mean", "L2 mean"}
	if l1 {
		header = append(header, "L1 mean")
	}
	header = append(header, "queries")
	t.SetHeader(header)
	t.SetAutoWrapText(false)
	t.SetAutoFormatHeaders(false)
	align := []int{tablewriter.ALIGN_LEFT, tablewriter.ALIGN_LEFT}
	for len(align) < len(header) {
		align = append(align, tablewriter.ALIGN_RIGHT)
	}
	t.SetColumnAlignment(align)
	for _, res := range r.Results {
		c := reports.Spread{}
		if res.Cosine.Outputs != nil {
			c = *res.Cosine.Outputs
		}
		eps := res.EpsRequested
		if eps == "" {
			eps = fmt.Sprintf("%g", res.Eps)
		}
		row := []string{res.AttackID, res.Norm, eps, fmt.Sprint(res.N),
			num(c.Mean, "%.4f"), num(c.P5, "%.4f"), num(c.Min, "%.4f"),
			num(res.Perturbation.LinfMean, "%.3g"), num(res.Perturbation.L2Mean, "%.3g")}
		if l1 {
			row = append(row, optNum(res.Perturbation.L1Mean, "%.3g"))
		}
		t.Append(textsafe.Lines(append(row, num(res.QueriesMean, "%.0f"))))
	}
	t.Render()
	for _, f := range r.Flags {
		fmt.Fprintf(w, "%s [%s] %s\n", textsafe.Line(strings.ToUpper(f.Severity)), textsafe.Line(f.ID), textsafe.Line(f.Message))
	}
	if r.Gate != nil {
		gateTable(w, r)
	}
	return nil
}

// embeddingMarkdown is Markdown's table for an embedding task.
func embeddingMarkdown(w io.Writer, r *reports.Report) {
	fmt.Fprintf(w, "\n| attack | norm | eps | samples | cos(outputs) mean / p5 / min |\n|---|---|---:|---:|---:|\n")
	for _, res := range r.Results {
		c := reports.Spread{}
		if res.Cosine.Outputs != nil {
			c = *res.Cosine.Outputs
		}
		fmt.Fprintf(w, "| %s | %s | %g | %d | %s / %s / %s |\n", mdEscape(res.AttackID), mdEscape(res.Norm), res.Eps, res.N,
			num(c.Mean, "%.4f"), num(c.P5, "%.4f"), num(c.Min, "%.4f"))
	}
}
