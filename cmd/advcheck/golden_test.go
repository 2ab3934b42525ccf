package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/NAME.golden (or rewrites it with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test -update to accept):\n%s", name, path, got)
	}
}

func TestReportGoldens(t *testing.T) {
	for _, c := range []struct{ name, report string }{
		{"sweep-small", "../../testdata/reports/sweep-small.json"},
		{"gate-small", "../../testdata/reports/gate-small.json"},
	} {
		var table bytes.Buffer
		if err := runReport(context.Background(), &reportOptions{}, c.report, &table); err != nil {
			t.Fatal(err)
		}
		golden(t, c.name+".table", table.Bytes())
		md := filepath.Join(t.TempDir(), "r.md")
		if err := runReport(context.Background(), &reportOptions{outputs: outputOptions{md: md, quiet: true}}, c.report, &table); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(md)
		golden(t, c.name+".md", b)
	}
}

func TestInspectGolden(t *testing.T) {
	var out bytes.Buffer
	opts := &inspectOptions{modelOptions: defaultLimitsOptions()}
	opts.layout, opts.bounds, opts.scale = "nchw", "0,1", 1
	if err := runInspect(context.Background(), opts, "../../testdata/models/batch1.onnx", &out); err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect-batch1", out.Bytes())
	out.Reset()
	if err := runInspect(context.Background(), opts, "zoo:", &out); err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect-zoo", out.Bytes())
}
