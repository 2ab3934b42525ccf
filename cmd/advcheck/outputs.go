package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/advcheck/advcheck/internal/atomicfile"
	"github.com/advcheck/advcheck/reports"
	"github.com/advcheck/advcheck/reports/render"
)

// files lists the output flags with their paths, in the order they are written.
func (o outputOptions) files() []struct{ flag, path string } {
	return []struct{ flag, path string }{{"--json", o.json}, {"--html", o.html}, {"--md", o.md}, {"--junit", o.junit}, {"--samples", o.samples}}
}

// check refuses, before any work is done, outputs that could not be
// written at the end: two outputs on stdout ('-') or in one file, a path
// that is a device, a pipe, a socket or a directory (it would be replaced
// by a regular file), a symbolic link that does not resolve, and a
// directory that is missing or does not accept new files. Symbolic links
// are written through to their final target.
func (o outputOptions) check() error {
	var stdout string
	seen := map[string]string{}
	for _, f := range o.files() {
		switch f.path {
		case "":
			continue
		case "-":
			if stdout != "" {
				return usageErr(fmt.Errorf("%s and %s both write to stdout ('-'); give '-' to one of them at most", stdout, f.flag))
			}
			stdout = f.flag
			continue
		}
		if err := atomicfile.Check(f.path); err != nil {
			return usageErr(fmt.Errorf("%s: %w", f.flag, err))
		}
		target, _ := atomicfile.Resolve(f.path)
		if abs, err := filepath.Abs(target); err == nil {
			target = abs
		}
		if other, dup := seen[target]; dup {
			return usageErr(fmt.Errorf("%s and %s both write to %s", other, f.flag, f.path))
		}
		seen[target] = f.flag
	}
	return nil
}

// checkOutputDir is check for --save-adv DIR: DIR is a directory or can be
// made, and accepts new files.
func checkOutputDir(flag, dir string) error {
	if dir == "" {
		return nil
	}
	// The nearest existing ancestor is where MkdirAll will start.
	p := dir
	for {
		st, err := os.Stat(p)
		if err == nil {
			if !st.IsDir() {
				return usageErr(fmt.Errorf("%s %s: %s is not a directory", flag, dir, p))
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(p) == p {
			return usageErr(fmt.Errorf("%s %s: %w", flag, dir, err))
		}
		p = filepath.Dir(p)
	}
	f, err := atomicfile.CreateTemp(p, "probe")
	if err != nil {
		return usageErr(fmt.Errorf("%s %s: %w", flag, dir, err))
	}
	f.Close()
	atomicfile.Remove(f.Name())
	return nil
}

// writeOutputs writes every requested rendering of r, each file atomically,
// and the table on stdout unless --quiet or an output goes to stdout.
func writeOutputs(r *reports.Report, o outputOptions, stdout io.Writer) error {
	encode := func(w io.Writer) error {
		b, err := r.Encode()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	with := func(f func(io.Writer, *reports.Report) error) func(io.Writer) error {
		return func(w io.Writer) error { return f(w, r) }
	}
	renderers := map[string]func(io.Writer) error{"--json": encode, "--html": with(render.HTML), "--md": with(render.Markdown), "--junit": with(render.JUnit), "--samples": r.WriteSamples}
	toStdout := false
	for _, f := range o.files() {
		if f.path == "" {
			continue
		}
		if f.path == "-" {
			toStdout = true
			if err := renderers[f.flag](stdout); err != nil {
				return err
			}
			continue
		}
		var buf bytes.Buffer
		if err := renderers[f.flag](&buf); err != nil {
			return fmt.Errorf("rendering %s: %w", f.path, err)
		}
		if err := atomicfile.Write(f.path, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if !o.quiet && !toStdout {
		return render.Table(stdout, r)
	}
	return nil
}
