package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
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

// advcheckRSS runs the command in a child process like advcheck and also
// returns the child's peak resident memory in bytes.
func advcheckRSS(t *testing.T, args ...string) (int, string, int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ADVCHECK_TEST_MAIN=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this platform")
	}
	return code, errb.String(), ru.Maxrss * 1024 // Linux reports kilobytes
}

// TestHostileFolding loads models (testdata/gen_hostile_fold.py) whose
// constant folding would create huge tensors, that assign a name twice, or
// that need ops advcheck lacks: inspect and sweep end with exit 3 and one
// line, within bounded memory, before any attack runs.
func TestHostileFolding(t *testing.T) {
	const mib = 1 << 20
	h := "../../testdata/hostile/"
	for _, c := range []struct {
		file  string
		flags []string
		say   string
		rss   int64 // peak resident memory allowed
	}{
		{"fold_constantofshape", nil, "ConstantOfShape output of shape [268435456] would hold more than the limit of 16777216 elements per tensor", 200 * mib},
		{"fold_constantofshape4", nil, "more than the limit of 16777216 elements per tensor", 200 * mib},
		{"fold_many", nil, "elements in all (33554432 more than the model stores)", 600 * mib},
		{"fold_gather", nil, "Gather output of shape [4194304 4096]", 300 * mib},
		{"fold_pad", nil, "Pad of shape [2147483652]", 200 * mib},
		{"fold_broadcast", nil, "Add of shape [65536 65536]", 200 * mib},
		{"fold_broadcast_small", []string{"--max-tensor-elements", "1000000"}, "Add of shape [2048 2048] would hold more than the limit of 1000000 elements per tensor", 200 * mib},
		{"fold_concat", nil, "Concat of shape [67108864]", 300 * mib},
		{"fold_expand", nil, "Expand output of shape [1048576 1048576] would hold more than", 200 * mib},
		{"fold_tile", nil, "Tile output of shape [1000000000] would hold more than", 200 * mib},
		{"fold_range", nil, "Range output of shape [1000000000000] would hold more than", 200 * mib},
		{"fold_resize", nil, `advcheck does not support op Resize (node "resize") yet`, 200 * mib},
		{"ssa_last_writer", nil, `tensor "logits" is written by node "fc32" (Gemm) and already by node "fc10" (Gemm)`, 200 * mib},
		{"ssa_initializer", nil, `tensor "W10" is written by node "shadow" (Relu) and already by an initializer`, 200 * mib},
		{"ssa_input", nil, `tensor "x" is written by node "again" (Relu) and already by the graph input`, 200 * mib},
		{"unsupported_ops", nil, `advcheck does not support ops Greater (node "/Greater"), Less (node "/Less") yet`, 200 * mib},
	} {
		model := h + c.file + ".onnx"
		for _, args := range [][]string{
			append(append([]string{"inspect"}, c.flags...), model),
			append([]string{"sweep", "--model", model, "--limit", "2", "--attack", "fgsm", "--eps", "0.1", "-q"}, c.flags...),
		} {
			code, errs, rss := advcheckRSS(t, args...)
			if code != 3 || !strings.Contains(errs, c.say) || strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
				t.Errorf("%v: exit %d, stderr %q; want exit 3, one line saying %q", args, code, errs, c.say)
			}
			t.Logf("%s %s: exit %d, peak RSS %d MiB", args[0], c.file, code, rss/mib)
			if rss > c.rss {
				t.Errorf("%v: peak RSS %d MiB, want at most %d MiB", args, rss/mib, c.rss/mib)
			}
		}
	}
	// Under the default limits the small broadcast folds and loads.
	if code, _, errs := advcheck(t, "inspect", h+"fold_broadcast_small.onnx"); code != 0 {
		t.Errorf("fold_broadcast_small under the default limits: exit %d: %s", code, errs)
	}
	// A missing op is advcheck's gap, not a bad model.
	if _, _, errs := advcheck(t, "inspect", h+"unsupported_ops.onnx"); strings.Contains(errs, "bad model") || strings.Contains(errs, "unsupported model") {
		t.Errorf("unsupported ops reported as a bad model: %s", errs)
	}
}
