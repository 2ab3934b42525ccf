package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestHostileInputs feeds crafted bad files (testdata/gen_hostile.py) and
// damaged real ones to the CLI: each must end with exit 3 and one clear
// line, never a panic or a stack trace.
func TestHostileInputs(t *testing.T) {
	h := "../../testdata/hostile/"
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"inspect", h + "nan_weights.onnx"}, "holds NaN"},
		{[]string{"inspect", h + "huge_dims.onnx"}, "limit"},
		{[]string{"inspect", h + "deep_nesting.onnx"}, "nested more than"},
		{[]string{"inspect", h + "external_data.onnx"}, "external file"},
		{[]string{"sweep", "--data", "npz:" + h + "zipbomb.npz", "--max-data-bytes", "10000000", "--limit", "2"}, "limit"},
		{[]string{"inspect", "--max-model-bytes", "1000", "../../testdata/models/mlp.onnx"}, "over the limit"},
	} {
		code, _, errs := advcheck(t, c.args...)
		if code != 3 || !strings.Contains(errs, c.say) || strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q; want exit 3, one line saying %q", c.args, code, errs, c.say)
		}
	}
}

// Damaged copies of a real model (truncated, or with flipped bytes) load or
// fail with a bad-model error, and the loader's memory stays bounded.
func TestDamagedModels(t *testing.T) {
	good, err := os.ReadFile("../../testdata/models/view_chain.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := 0
	for i := 0; i < 40; i++ {
		b := append([]byte(nil), good...)
		switch i % 3 {
		case 0:
			b = b[:len(b)*i/40]
		default:
			for k := 0; k < 1+i%5; k++ {
				b[(i*7919+k*104729)%len(b)] ^= byte(1 << (k % 8))
			}
		}
		path := filepath.Join(dir, "m.onnx")
		os.WriteFile(path, b, 0o644)
		var ms runtime.MemStats
		code, _, errs := advcheck(t, "inspect", path)
		runtime.ReadMemStats(&ms)
		if code != 0 && code != 3 {
			t.Errorf("damaged model %d: exit %d: %s", i, code, errs)
		}
		if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine") {
			t.Errorf("damaged model %d: %s", i, errs)
		}
		cases++
	}
	if cases != 40 {
		t.Fatal("not every case ran")
	}
}

// Names that hold markup reach HTML and Markdown reports escaped.
func TestMarkupInModelNames(t *testing.T) {
	dir := t.TempDir()
	html, md := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.md")
	code, _, errs := advcheck(t, "sweep", "--model", "../../testdata/hostile/script_names.onnx", "--limit", "8", "--attack", "fgsm", "--eps", "0,0.1", "--html", html, "--md", md, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, out, _ := advcheck(t, "inspect", "../../testdata/hostile/script_names.onnx")
	for name, text := range map[string]string{"html": mustRead(t, html), "md": mustRead(t, md)} {
		if strings.Contains(text, "<script>alert") || strings.Contains(text, "<img src=x") {
			t.Errorf("%s report holds unescaped markup", name)
		}
	}
	if !strings.Contains(out, "parameters") {
		t.Errorf("inspect output: %s", out)
	}
}
