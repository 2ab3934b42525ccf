package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/reports"
)

type reportOptions struct {
	outputs    outputOptions
	maxBytes   int64
	requireSig string
}

func newReportCommand() *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report REPORT.json",
		Short: "Re-render a saved report as a table, HTML, Markdown or JUnit XML",
		Long: `Read a JSON report written by sweep, gate or merge and render it again,
without running anything: the table on stdout, and --html, --md, --junit or
--samples files. Every figure is first checked against the report's own
per-sample outcomes; a report whose figures differ is refused (exit 3).

` + exitStatusHelp,
		Example: `  advcheck report report.json --html report.html
  advcheck report report.json --md summary.md -q`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.Context(), opts, args[0], cmd.OutOrStdout())
		},
	}
	opts.outputs.addFlags(cmd.Flags())
	cmd.Flags().Lookup("json").Usage = "write the report again as JSON to `FILE`"
	cmd.Flags().Int64Var(&opts.maxBytes, "max-report-bytes", reports.DefaultMaxReportBytes, "refuse reports larger than this")
	cmd.Flags().StringVar(&opts.requireSig, "require-signature", "", "refuse the report unless REPORT.json.sig verifies with this public key `PUB` (exit 1)")
	return cmd
}

func runReport(_ context.Context, o *reportOptions, path string, w io.Writer) error {
	if err := o.outputs.check(); err != nil {
		return err
	}
	if err := checkPublicKey(o.requireSig); err != nil {
		return err
	}
	r, err := readReport(path, o.maxBytes, o.requireSig)
	if err != nil {
		return err
	}
	if r.Samples == nil && (o.outputs.samples != "") {
		return badInputErr(fmt.Errorf("%s has no per-sample outcomes", path))
	}
	return writeOutputs(r, o.outputs, w)
}
