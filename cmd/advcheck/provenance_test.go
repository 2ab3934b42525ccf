package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/models"
)

// run.tool names both native libraries a result depends on: the BLAS
// backend and the JPEG decoder, in reports written by sweep, merge and gate,
// as advcheck version does. Before, the JPEG decoder was in version only.
func TestRunToolNamesNativeLibraries(t *testing.T) {
	dir := t.TempDir()
	tool := func(path string) map[string]any {
		t.Helper()
		return readJSON(t, path)["run"].(map[string]any)["tool"].(map[string]any)
	}
	small := []string{"--limit", "4", "--attack", "fgsm", "--eps", "0,0.1", "--checks=false", "-q"}
	var parts []string
	for i := range 2 {
		p := filepath.Join(dir, []string{"p0.json", "p1.json"}[i])
		if code, _, errs := advcheck(t, append([]string{"sweep", "--shard", []string{"0/2", "1/2"}[i], "--json", p}, small...)...); code != 0 {
			t.Fatalf("sweep: exit %d: %s", code, errs)
		}
		parts = append(parts, p)
	}
	merged := filepath.Join(dir, "m.json")
	if code, _, errs := advcheck(t, append(append([]string{"merge"}, parts...), "--json", merged)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	gated := filepath.Join(dir, "g.json")
	policy := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(policy, []byte(smallPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := advcheck(t, "gate", "--policy", policy, "--json", gated, "-q"); code != 0 {
		t.Fatalf("gate: exit %d: %s", code, errs)
	}
	for _, p := range []string{parts[0], merged, gated} {
		got := tool(p)
		if got["jpeg"] != datasets.JPEGDecoder || got["blas"] != models.Backend() {
			t.Errorf("%s: run.tool %v; want jpeg %q and blas %q", filepath.Base(p), got, datasets.JPEGDecoder, models.Backend())
		}
	}
	if _, out, _ := advcheck(t, "version"); !strings.Contains(out, "jpeg     "+datasets.JPEGDecoder+"\n") {
		t.Errorf("advcheck version names another JPEG decoder:\n%s", out)
	}
}
