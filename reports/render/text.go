package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/reports"
)

func pct(n reports.Num) string {
	if !n.Valid() {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n))
}

func ci(c [2]reports.Num) string {
	if !c[0].Valid() || !c[1].Valid() {
		return "—"
	}
	return fmt.Sprintf("[%.1f, %.1f]", 100*float64(c[0]), 100*float64(c[1]))
}

func num(n reports.Num, format string) string {
	if !n.Valid() {
		return "—"
	}
	return fmt.Sprintf(format, float64(n))
}

// optNum is num for a figure that reports written before it lack.
func optNum(n *reports.Num, format string) string {
	if n == nil {
		return "—"
	}
	return num(*n, format)
}

// hasL1Mean reports whether the results state perturbation.l1_mean; the
// renderings of reports written before it leave its column out.
func hasL1Mean(r *reports.Report) bool {
	for _, res := range r.Results {
		if res.Perturbation.L1Mean != nil {
			return true
		}
	}
	return false
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// headerLines are the facts every rendering starts with.
func headerLines(r *reports.Report) []string {
	status := "complete"
	if !r.Complete {
		status = fmt.Sprintf("INCOMPLETE: %d of %d samples", r.Dataset.Samples, r.Dataset.Total)
	}
	// Every string here may come from a saved report or a model file.
	safe := textsafe.Line
	lines := []string{
		fmt.Sprintf("model    %s (sha256 %s, %s)", safe(r.Model.Path), safe(short(r.Model.SHA256)), safe(r.Model.OutputKind)),
		fmt.Sprintf("data     %s (%d samples, sha256 %s, labels: %s)", safe(r.Dataset.Spec), r.Dataset.Samples, safe(short(r.Dataset.SHA256Decoded)), safe(r.Dataset.LabelSource)),
		fmt.Sprintf("clean    accuracy %s %s (%d/%d)", pct(r.Clean.Accuracy), ci(r.Clean.AccuracyCI95), r.Clean.NCorrect, r.Clean.N),
		fmt.Sprintf("run      seed %d, shard %d/%d, %s", r.Config.Seed, r.Config.Shard.I, r.Config.Shard.N, status),
	}
	if r.Config.EpsDefault != "" {
		lines = append(lines, "eps      default for "+r.Config.EpsDefault)
	}
	if r.Config.Task == reports.TaskEmbedding {
		lines[2] = fmt.Sprintf("task     embedding: every sample attacked, loss %s to the clean output; no classes, no accuracy", safe(r.Config.OutputLoss))
	}
	return lines
}

// Table renders the report for a terminal: clean accuracy on top, one
// row per attack × eps, then the worst case per norm, then flags.
func Table(w io.Writer, r *reports.Report) error {
	for _, l := range headerLines(r) {
		fmt.Fprintln(w, l)
	}
	if r.Config.Task == reports.TaskEmbedding {
		return embeddingTable(w, r)
	}
	if len(r.Config.Attacks) > 0 {
		attackTable(w, r)
	}
	corruptionTable(w, r)
	for _, f := range r.Flags {
		fmt.Fprintf(w, "%s [%s] %s\n", textsafe.Line(strings.ToUpper(f.Severity)), textsafe.Line(f.ID), textsafe.Line(f.Message))
	}
	if r.Gate != nil {
		gateTable(w, r)
	}
	return nil
}

// attackTable renders one row per attack × eps, the worst case per norm,
// and the summary lines.
func attackTable(w io.Writer, r *reports.Report) {
	t := tablewriter.NewWriter(w)
	// Success, output movement and perturbation are over the attacked samples
	// (the clean-correct ones); the header says so, as the figures differ from
	// a mean over every sample whenever the model makes clean errors.
	l1 := hasL1Mean(r)
	header := []string{"attack", "norm", "eps", "accuracy", "95% CI", "attacked", "success", "cos logits\n(attacked)", "cos p5\n(attacked)", "KL\n(attacked)", "L∞ mean\n(attacked)", "L2 mean\n(attacked)"}
	if l1 {
		header = append(header, "L1 mean\n(attacked)")
	}
	header = append(header, "queries")
	t.SetHeader(header)
	t.SetAutoWrapText(false)
	t.SetAutoFormatHeaders(false)
	t.SetAlignment(tablewriter.ALIGN_RIGHT)
	align := []int{tablewriter.ALIGN_LEFT, tablewriter.ALIGN_LEFT}
	for len(align) < len(header) {
		align = append(align, tablewriter.ALIGN_RIGHT)
	}
	t.SetColumnAlignment(align)
	for _, res := range r.Results {
		row := []string{res.AttackID, res.Norm, fmt.Sprintf("%g", res.Eps), pct(res.Accuracy), ci(res.AccuracyCI95),
			fmt.Sprintf("%d/%d", res.NAttacked, res.N), pct(res.AttackSuccessRate), num(res.Cosine.Logits.Mean, "%.3f"), num(res.Cosine.Logits.P5, "%.3f"),
			num(res.KL.Mean, "%.3g"), num(res.Perturbation.LinfMean, "%.3g"), num(res.Perturbation.L2Mean, "%.3g")}
		if l1 {
			row = append(row, optNum(res.Perturbation.L1Mean, "%.3g"))
		}
		t.Append(textsafe.Lines(append(row, num(res.QueriesMean, "%.0f"))))
	}
	// Rows without per-attack figures leave those columns blank.
	blank := func(cells ...string) []string {
		return textsafe.Lines(append(cells, make([]string, len(header)-len(cells))...))
	}
	for _, wc := range r.WorstCase {
		t.Append(blank("worst case ("+strings.Join(wc.Attacks, ", ")+")", wc.Norm, fmt.Sprintf("%g", wc.Eps), pct(wc.Accuracy), ci(wc.AccuracyCI95)))
	}
	for _, c := range r.Certified {
		t.Append(blank(certifiedName(c), c.Norm, fmt.Sprintf("%g", c.Eps), pct(c.Accuracy), ci(c.AccuracyCI95), fmt.Sprintf("%d/%d", c.NCertified, c.N)))
	}
	t.Render()
	for _, l := range intervalLines(r) {
		fmt.Fprintln(w, textsafe.Line(l))
	}
	for _, a := range r.Summary.AUC {
		fmt.Fprintf(w, "AUC %-24s %-4s %s\n", textsafe.Line(a.AttackID), textsafe.Line(a.Norm), num(a.Value, "%.3f"))
	}
	for _, m := range r.Summary.MinimalEps {
		med := num(m.Median, "%g")
		if !m.Median.Valid() {
			med = "> largest eps"
		}
		fmt.Fprintf(w, "median minimal eps (%s): %s; %d samples unbroken\n", textsafe.Line(m.Norm), med, m.SamplesUnbroken)
	}
	for _, m := range r.Summary.MinNorm {
		fmt.Fprintf(w, "%s\n", textsafe.Line(minNormLine(m)))
	}
}

func gateTable(w io.Writer, r *reports.Report) {
	verdict := "PASSED"
	if !r.Gate.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "gate %s\n", verdict)
	t := tablewriter.NewWriter(w)
	t.SetHeader([]string{"", "requirement", "want", "got"})
	t.SetAutoWrapText(false)
	t.SetAutoFormatHeaders(false)
	for _, c := range r.Gate.Checks {
		mark := "ok"
		if !c.Passed {
			mark = "FAIL"
		}
		t.Append(textsafe.Lines([]string{mark, c.ID, c.Want, c.Got}))
	}
	t.Render()
}

// mdEscape escapes text for a Markdown table cell: controls as textsafe.Line
// escapes them, then the characters that are Markdown or HTML markup.
func mdEscape(s string) string {
	s = textsafe.Line(s)
	r := strings.NewReplacer("\\", `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "\n", " ")
	return r.Replace(s)
}

// Markdown renders a summary that fits a pull-request comment.
func Markdown(w io.Writer, r *reports.Report) error {
	title := "advcheck robustness report"
	if r.Gate != nil {
		if r.Gate.Passed {
			title += " — gate passed ✅"
		} else {
			title += " — gate FAILED ❌"
		}
	}
	fmt.Fprintf(w, "### %s\n\n", title)
	for _, l := range headerLines(r) {
		fmt.Fprintf(w, "- %s\n", mdEscape(l))
	}
	if r.Gate != nil {
		fmt.Fprintf(w, "\n| | requirement | want | got |\n|---|---|---|---|\n")
		for _, c := range r.Gate.Checks {
			mark := "✅"
			if !c.Passed {
				mark = "❌"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", mark, mdEscape(c.ID), mdEscape(c.Want), mdEscape(c.Got))
		}
	}
	if r.Config.Task == reports.TaskEmbedding {
		embeddingMarkdown(w, r)
	} else {
		if len(r.Config.Attacks) > 0 {
			resultsMarkdown(w, r)
		}
		corruptionMarkdown(w, r)
	}
	if len(r.Summary.MinNorm) > 0 {
		fmt.Fprintf(w, "\n| minimal-norm attack | norm | broken | p25 | median | p75 |\n|---|---|---:|---:|---:|---:|\n")
		for _, m := range r.Summary.MinNorm {
			fmt.Fprintf(w, "| %s | %s | %d/%d | %s | %s | %s |\n", mdEscape(m.AttackID), mdEscape(m.Norm), m.NBroken, m.NAttacked,
				num(m.P25, "%.4g"), num(m.Median, "%.4g"), num(m.P75, "%.4g"))
		}
	}
	if len(r.Flags) > 0 {
		fmt.Fprintf(w, "\n**Flags**\n\n")
		for _, f := range r.Flags {
			fmt.Fprintf(w, "- **%s** `%s`: %s\n", mdEscape(f.Severity), mdEscape(f.ID), mdEscape(f.Message))
		}
	}
	return nil
}

func resultsMarkdown(w io.Writer, r *reports.Report) {
	fmt.Fprintf(w, "\n| attack | norm | eps | accuracy | 95%% CI | attacked | success | cos(logits) mean / p5 (attacked) |\n|---|---|---:|---:|---|---:|---:|---:|\n")
	for _, res := range r.Results {
		fmt.Fprintf(w, "| %s | %s | %g | %s | %s | %d/%d | %s | %s / %s |\n", mdEscape(res.AttackID), mdEscape(res.Norm), res.Eps, pct(res.Accuracy), ci(res.AccuracyCI95),
			res.NAttacked, res.N, pct(res.AttackSuccessRate), num(res.Cosine.Logits.Mean, "%.3f"), num(res.Cosine.Logits.P5, "%.3f"))
	}
	for _, wc := range r.WorstCase {
		fmt.Fprintf(w, "| **worst case** | %s | %g | %s | %s | | | |\n", mdEscape(wc.Norm), wc.Eps, pct(wc.Accuracy), ci(wc.AccuracyCI95))
	}
	for _, c := range r.Certified {
		fmt.Fprintf(w, "| **%s** | %s | %g | %s | %s | %d/%d certified | | |\n", mdEscape(certifiedName(c)), mdEscape(c.Norm), c.Eps, pct(c.Accuracy), ci(c.AccuracyCI95), c.NCertified, c.N)
	}
	if lines := intervalLines(r); len(lines) > 0 {
		fmt.Fprintln(w)
		for _, l := range lines {
			fmt.Fprintf(w, "- %s\n", mdEscape(l))
		}
	}
}

// minNormLine describes a minimal-norm summary in one line of text.
func minNormLine(m reports.MinNormSummary) string {
	return fmt.Sprintf("minimal norm %s (%s): median %s [p25 %s, p75 %s]; %d of %d attacked samples broken",
		m.AttackID, m.Norm, num(m.Median, "%.4g"), num(m.P25, "%.4g"), num(m.P75, "%.4g"), m.NBroken, m.NAttacked)
}
