package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/reports"
)

// noteFolder records in the report how an image folder was labelled, and
// says on stderr what a reader of the numbers must know: files skipped,
// class folders reached through links, a class count that does not match
// the model.
func noteFolder(r *reports.Report, f *datasets.FolderInfo, spec string, stderr io.Writer) {
	ds := &r.Dataset
	ds.ClassMap = &reports.ClassMap{Source: f.ClassSource, File: f.ClassFile}
	for _, c := range f.Classes {
		ds.ClassMap.Classes = append(ds.ClassMap.Classes, reports.ClassLabel{Folder: c.Folder, Label: c.Label, Images: c.Images, Symlink: c.Symlink})
		if c.Symlink != "" {
			fmt.Fprintf(stderr, "advcheck: %s: class folder %s is a symbolic link to %s; followed (label %d)\n", textsafe.Line(spec), textsafe.Line(c.Folder), textsafe.Line(c.Symlink), c.Label)
		}
	}
	if f.SkippedCount > 0 {
		ds.Skipped = &reports.Skipped{Count: f.SkippedCount, Names: f.Skipped}
		more := ""
		if f.SkippedCount > len(f.Skipped) {
			more = ", …"
		}
		fmt.Fprintf(stderr, "advcheck: %s: skipped %d entries that are not class folders or images (%s%s)\n", textsafe.Line(spec), f.SkippedCount, textsafe.Line(strings.Join(f.Skipped, ", ")), more)
	}
	if f.LinkCount > 0 {
		ds.LinkedFiles = &reports.LinkedFiles{Count: f.LinkCount}
		for _, l := range f.Links {
			ds.LinkedFiles.Links = append(ds.LinkedFiles.Links, reports.Symlink{Path: l.Path, Target: l.Target})
		}
	}
	ds.Notes = append(ds.Notes, f.Notes...)
	for _, n := range f.Notes {
		fmt.Fprintf(stderr, "advcheck: %s\n", textsafe.Line(n))
	}
	if f.CountWarning != "" {
		r.Flags = append(r.Flags, reports.Flag{ID: reports.FlagClassCount, Severity: "warning", Message: f.CountWarning})
		fmt.Fprintf(stderr, "advcheck: warning: %s\n", textsafe.Line(f.CountWarning))
	}
}
