package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/internal/atomicfile"
	"github.com/advcheck/advcheck/reports"
	"github.com/advcheck/advcheck/reports/compare"
	"github.com/advcheck/advcheck/reports/render"
)

type compareOptions struct {
	html, md   string
	quiet      bool
	maxBytes   int64
	requireSig string
}

func newCompareCommand() *cobra.Command {
	opts := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare A.json B.json [C.json...]",
		Short: "Set reports on the same data side by side, with paired tests of what changed",
		Long: `Read two or more reports made on the same data (e.g. model v1 and model v2)
and show, per attack and eps, the robust accuracy and the mean cosine of clean
and adversarial logits of each, and what changed against the first report:
the accuracy and cosine deltas, the samples that flipped each way (newly
broken: the first report classified them correctly, this one does not; newly
robust: the reverse), and McNemar's two-sided paired test on those flips —
exact binomial with fewer than 25 flipped samples, chi-square with continuity
correction otherwise.

The table goes to stdout; --html writes a self-contained page with the
accuracy and cosine curves of every report on the same axes per attack, --md
a Markdown summary. Every report is first checked against its own per-sample
outcomes, as every reader does. Reports on other data (another decoded-data
SHA-256, label source, labels or set of samples) and reports of an embedding
task (no accuracy) are refused (exit 2); so is a report without per-sample
outcomes (exit 3).

` + exitStatusHelp,
		Example: `  advcheck compare v1.json v2.json
  advcheck compare v1.json v2.json v3.json --html cmp.html --md cmp.md -q`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompare(cmd.Context(), opts, args, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.html, "html", "", "write the comparison as a self-contained HTML page with plots to `FILE`")
	fs.StringVar(&opts.md, "md", "", "write a Markdown summary (for pull-request comments) to `FILE`")
	fs.BoolVarP(&opts.quiet, "quiet", "q", false, "do not print the table")
	fs.Int64Var(&opts.maxBytes, "max-report-bytes", reports.DefaultMaxReportBytes, "refuse reports larger than this")
	fs.StringVar(&opts.requireSig, "require-signature", "", "refuse every report unless REPORT.sig verifies with this public key `PUB` (exit 1)")
	return cmd
}

func runCompare(_ context.Context, o *compareOptions, paths []string, w io.Writer) error {
	outs := outputOptions{html: o.html, md: o.md}
	if err := outs.check(); err != nil {
		return err
	}
	if err := checkPublicKey(o.requireSig); err != nil {
		return err
	}
	var rs []*reports.Report
	var names []string
	for _, p := range paths {
		r, err := readReport(p, o.maxBytes, o.requireSig)
		if err != nil {
			return err
		}
		rs = append(rs, r)
		names = append(names, filepath.Base(p))
	}
	// Two files of the same name in different folders are told apart by path.
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			copy(names, paths)
			break
		}
		seen[n] = true
	}
	c, err := compare.New(names, rs)
	switch {
	case errors.Is(err, compare.ErrDifferentData), errors.Is(err, compare.ErrTask):
		return usageErr(err)
	case err != nil:
		return badInputErr(err)
	}
	toStdout := false
	for _, f := range []struct {
		path   string
		render func(io.Writer, *compare.Comparison) error
	}{{o.html, render.CompareHTML}, {o.md, render.CompareMarkdown}} {
		switch f.path {
		case "":
			continue
		case "-":
			toStdout = true
			if err := f.render(w, c); err != nil {
				return err
			}
			continue
		}
		var buf bytes.Buffer
		if err := f.render(&buf, c); err != nil {
			return fmt.Errorf("rendering %s: %w", f.path, err)
		}
		if err := atomicfile.Write(f.path, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if !o.quiet && !toStdout {
		return render.CompareTable(w, c)
	}
	return nil
}
