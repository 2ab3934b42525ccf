package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/advcheck/advcheck/internal/atomicfile"
	"github.com/advcheck/advcheck/reports"
)

// writeOutputs writes every requested rendering of r, each file atomically,
// and the table on stdout unless --quiet or --json -.
func writeOutputs(r *reports.Report, o outputOptions, stdout io.Writer) error {
	type out struct {
		path   string
		render func(io.Writer) error
	}
	encode := func(w io.Writer) error {
		b, err := r.Encode()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	files := []out{{o.json, encode}, {o.html, r.WriteHTML}, {o.md, r.WriteMarkdown}, {o.junit, r.WriteJUnit}, {o.samples, r.WriteSamples}}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if f.path == "-" {
			if err := f.render(stdout); err != nil {
				return err
			}
			continue
		}
		var buf bytes.Buffer
		if err := f.render(&buf); err != nil {
			return fmt.Errorf("rendering %s: %w", f.path, err)
		}
		if err := atomicfile.Write(f.path, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if !o.quiet && o.json != "-" && o.html != "-" && o.md != "-" && o.junit != "-" && o.samples != "-" {
		return r.WriteTable(stdout)
	}
	return nil
}
