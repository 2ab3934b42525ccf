package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/reports"
)

type mergeOptions struct {
	outputs    outputOptions
	maxBytes   int64
	requireSig string
}

func newMergeCommand() *cobra.Command {
	opts := &mergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge PART.json... --json FILE",
		Short: "Combine the reports of sharded runs into one, exactly",
		Long: `Combine the reports of 'sweep --shard 0/N' … 'sweep --shard N-1/N' into the
report of the whole data set. Every figure is reduced again from the per-sample
outcomes in sample order, so the result equals an unsharded run's report (the
provenance block aside). Parts whose schema, model, data set or configuration
differ are refused, as are missing or repeated shards.

` + exitStatusHelp,
		Example: `  advcheck merge part-*.json --json report.json --html report.html`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMerge(cmd.Context(), opts, args, os.Args, cmd.OutOrStdout())
		},
	}
	opts.outputs.addFlags(cmd.Flags())
	cmd.Flags().Int64Var(&opts.maxBytes, "max-report-bytes", reports.DefaultMaxReportBytes, "refuse reports larger than this")
	cmd.Flags().StringVar(&opts.requireSig, "require-signature", "", "refuse every part unless PART.sig verifies with this public key `PUB` (exit 1)")
	return cmd
}

func runMerge(_ context.Context, o *mergeOptions, paths []string, command []string, w io.Writer) error {
	start := time.Now()
	if err := o.outputs.check(); err != nil {
		return err
	}
	if err := checkPublicKey(o.requireSig); err != nil {
		return err
	}
	var parts []*reports.Report
	for _, p := range paths {
		r, err := readReport(p, o.maxBytes, o.requireSig)
		if err != nil {
			return err
		}
		parts = append(parts, r)
	}
	merged, err := reports.Merge(parts)
	if err != nil {
		return badInputErr(fmt.Errorf("merge: %w", err))
	}
	merged.Run = reports.RunOf(start, command)
	return writeOutputs(merged, o.outputs, w)
}
