package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models"
)

// A policy's input contract is checked as the sweep flags are (one
// function, models.CheckContract): a zero scale, empty or inverted bounds,
// std ≤ 0, mean without std or an unknown layout end the gate with exit 2 at
// the key's line and column, before any model is read; none becomes a
// default. Before, scale: 0 ran at scale 1 and bounds: [0, 0] was refused
// under the name of a flag gate does not have.
func TestGatePolicyContract(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ model, say string }{
		{"scale: 0", "line 4, column 10: model.scale 0: want a positive finite number"},
		{"scale: -255", "line 4, column 10: model.scale -255: want a positive finite number"},
		{"bounds: [0, 0]", "line 4, column 11: model.bounds [0 0]: want LO < HI, both finite"},
		{"bounds: [1, 0]", "line 4, column 11: model.bounds [1 0]: want LO < HI"},
		{"mean: [0.5]\n  std: [0]", "line 5, column 8: model.std [0]: want positive finite values"},
		{"std: [-1]\n  mean: [0]", "line 4, column 8: model.std [-1]: want positive finite values"},
		{"mean: [0.5]", "line 4, column 9: model.mean [0.5]: given without std"},
		{"mean: [0.5, 0.5]\n  std: [1]", "line 4, column 9: model.mean [0.5 0.5]: 2 values, but std has 1"},
		{"layout: nhcw", `line 4, column 11: model.layout "nhcw": want nchw or nhwc`},
		{"scale: 1e400", "line 4, column 10: want a number"},
	} {
		doc := strings.Replace(smallPolicy, "model: zoo:mnist-cnn\n", "model:\n  path: zoo:mnist-cnn\n  "+c.model+"\n", 1)
		p := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		expect(t, 2, c.say, "gate", "--policy", p, "-q")
		// The policy is refused before a --report is read.
		expect(t, 2, c.say, "gate", "--policy", p, "--report", filepath.Join(dir, "absent.json"), "-q")
	}
	// A control: the defaults written out run and pass.
	doc := strings.Replace(smallPolicy, "model: zoo:mnist-cnn\n", "model:\n  path: zoo:mnist-cnn\n  layout: nchw\n  bounds: [0, 1]\n  scale: 1\n", 1)
	p := filepath.Join(dir, "ok.yaml")
	os.WriteFile(p, []byte(doc), 0o644)
	expect(t, 0, "", "gate", "--policy", p, "-q")
}

// gate takes --memory as sweep does: it sizes the batch of a policy without
// batch:, and a policy's batch: over the budget is refused (exit 2) naming
// the policy key and the batch that fits, not a --batch flag gate lacks.
func TestGateMemory(t *testing.T) {
	models.SetThreads(1)
	defer models.SetThreads(0)
	const eps = 2 // smallPolicy's linf radii
	m, budget := budgetBetween8And16(t, eps)
	mem := fmt.Sprint(budget)
	dir := t.TempDir()

	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte(smallPolicy), 0o644)
	out := filepath.Join(dir, "r.json")
	expect(t, 0, "", "gate", "--policy", p, "--threads", "1", "--memory", mem, "--json", out, "-q")
	if cfg := readJSON(t, out)["config"].(map[string]any); cfg["batch"] != 8.0 {
		t.Errorf("batch %v under a --memory budget of %s; want 8", cfg["batch"], formatBytes(budget))
	}

	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte(smallPolicy+"batch: 16\n"), 0o644)
	want := fmt.Sprintf("batch: 16 (%s, line 15) needs about %s (--memory budget %s); batch: 8 fits", big, formatBytes(runMemory(m, 16, eps)), formatBytes(budget))
	expect(t, 2, want, "gate", "--policy", big, "--threads", "1", "--memory", mem, "-q")
	expect(t, 2, "even batch 1 needs about", "gate", "--policy", big, "--memory", "1MiB", "-q")
	expect(t, 2, `--memory "lots": want a size`, "gate", "--policy", big, "--memory", "lots", "-q")
}

// A policy's attack parameters are bounded as --attack's are: exit 2 at the
// attack's position, not a sweep that runs until --timeout (exit 124).
func TestGatePolicyIterationBounds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, []byte(strings.Replace(smallPolicy, "params: {steps: 3}", "params: {steps: 100000000000}", 1)), 0o644)
	expect(t, 2, "line 7, column 5: bad attack spec: pgd: steps=100000000000: at most 100000", "gate", "--policy", p, "--timeout", "20s", "-q")
}

// sweep --help states the bound of every iteration count, as the attacks
// package enforces it.
func TestHelpStatesIterationBounds(t *testing.T) {
	code, out, errs := advcheck(t, "sweep", "--help")
	if code != 0 {
		t.Fatalf("sweep --help: exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"steps         iterations (default 10, at most 100000)",
		"restarts      attempts per sample; each new one only on samples not yet broken (default 1, at most 1000)",
		"queries       model queries per sample per restart (default 5000, at most 1000000)",
		"iters         iterations per run (default 100, at most 100000)",
		"draws         noise samples per input (default 10, at most 100000)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sweep --help does not say %q", want)
		}
	}
}
