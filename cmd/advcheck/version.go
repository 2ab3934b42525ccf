package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/internal/buildinfo"
	"github.com/advcheck/advcheck/models"
)

type versionOptions struct {
	json bool
}

func newVersionCommand() *cobra.Command {
	opts := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, Go toolchain, BLAS backend, JPEG decoder and module versions",
		Long: `Print what this binary is: its version, the Go toolchain that built it, the
matrix-multiply backend (OpenBLAS for the documented build, pure Go otherwise),
the JPEG decoder (libjpeg-turbo, bit-identical to PIL, for the documented
build; Go's image/jpeg otherwise), the number of compute threads, and every
module compiled in — the same provenance each report records.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON")
	return cmd
}

// versionReport is the JSON form of `advcheck version`.
type versionReport struct {
	buildinfo.Info
	BLAS    string `json:"blas"`
	JPEG    string `json:"jpeg"`
	Threads int    `json:"threads"`
}

func runVersion(_ context.Context, opts *versionOptions, w io.Writer) error {
	v := versionReport{Info: buildinfo.Read(), BLAS: models.Backend(), JPEG: datasets.JPEGDecoder, Threads: models.Threads()}
	if opts.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	fmt.Fprintf(w, "advcheck %s\n", v.Version)
	fmt.Fprintf(w, "go       %s %s/%s\n", v.Go, v.OS, v.Arch)
	fmt.Fprintf(w, "blas     %s\n", v.BLAS)
	fmt.Fprintf(w, "jpeg     %s\n", v.JPEG)
	fmt.Fprintf(w, "threads  %d\n", v.Threads)
	if v.VCS != "" {
		dirty := ""
		if v.VCSDirty {
			dirty = " (modified)"
		}
		fmt.Fprintf(w, "commit   %s%s\n", v.VCS, dirty)
	}
	fmt.Fprintln(w, "modules:")
	for _, m := range v.Modules {
		fmt.Fprintf(w, "  %s %s\n", m.Path, m.Version)
	}
	return nil
}
