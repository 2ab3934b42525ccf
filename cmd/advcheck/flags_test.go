package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models"
)

// Flags that are wrong are refused with exit 2 and one line naming the
// flag; none falls back to a default silently, mis-parses, crashes or runs
// out of memory. Each row was a silent fallback, an exit 4, a panic or an
// out-of-memory crash before it was checked.
func TestFlagMistakes(t *testing.T) {
	run := []string{"sweep", "--limit", "2", "-q"}
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"--eps", "0.1,0:1:1e-300"}, `eps range "0:1:1e-300" has 1e+300 values; at most 1000`},
		{[]string{"--eps", "0:1:1e-5"}, "has 1e+05 values"},
		{[]string{"--threads", "20000"}, "--threads 20000: want 0 (one per CPU) to"},
		{[]string{"--threads", "-1"}, "--threads -1"},
		{[]string{"--attack", "fgsm:target=10", "--eps", "0.1"}, "fgsm: target=10, but the model's classes are 0 to 9"},
		{[]string{"--attack", "pgd:target=-1", "--eps", "0.1"}, "a class number is 0 or more"},
		{[]string{"--attack", "fgsm:loss=dlr,target=3", "--model", "../../testdata/models/batch1.onnx", "--eps", "0.1"}, ""},
		{[]string{"--attack", "pgd:rel_step=nan/1"}, `rel_step="nan/1": want a number`},
		{[]string{"--attack", "pgd:steps=0"}, "steps, restarts and rel_step must be positive"},
		{[]string{"--attack", "pgd:restarts=-1"}, "steps, restarts and rel_step must be positive"},
		// Unbounded, these ran until --timeout (exit 124).
		{[]string{"--attack", "pgd:steps=100000000000", "--timeout", "20s"}, `--attack "pgd:steps=100000000000": bad attack spec: pgd: steps=100000000000: at most 100000`},
		{[]string{"--attack", "pgd:restarts=1000000", "--timeout", "20s"}, "pgd: restarts=1000000: at most 1000"},
		{[]string{"--attack", "square:queries=1000000000", "--timeout", "20s"}, "square: queries=1000000000: at most 1000000"},
		{[]string{"--bounds", "0,0"}, `--bounds "0,0": want LO < HI`},
		{[]string{"--bounds", "0,inf"}, `--bounds "0,inf"`},
		{[]string{"--bounds", "0"}, `--bounds "0"`},
		{[]string{"--scale", "0"}, "--scale 0: want a positive finite number"},
		{[]string{"--scale", "-255"}, "--scale -255"},
		{[]string{"--scale", "NaN"}, "--scale NaN"},
		{[]string{"--mean", "0.1", "--std", "0.1,0.2"}, `--mean "0.1": 1 values, but std has 2: give one per channel in both`},
		{[]string{"--mean", "0.1"}, `--mean "0.1": given without std`},
		{[]string{"--std", "0.2"}, `--std "0.2": given without mean`},
		{[]string{"--mean", "0.5,0.5,0.5", "--std", "1,1,1"}, "input contract: invalid model: mean/std have 3 values for 1 channels"},
		{[]string{"--mean", "0", "--std", "0"}, `--std "0": want positive finite values`},
		{[]string{"--layout", "nhcw"}, `--layout "nhcw": want nchw or nhwc`},
		{[]string{"--batch", "0"}, "--batch 0: want 1 to"},
		{[]string{"--batch", "-5"}, "--batch -5"},
		{[]string{"--batch", "100000000"}, "--batch 100000000"},
		{[]string{"--limit", "-1"}, "--limit -1"},
		{[]string{"--seed", "-1"}, `invalid argument "-1" for "--seed"`},
		{[]string{"--timeout", "-1s"}, "--timeout -1s"},
		{[]string{"--max-data-bytes", "-1"}, "--max-data-bytes -1: want at least 1"},
		{[]string{"--max-model-bytes", "0"}, "--max-model-bytes 0: want at least 1"},
		{[]string{"--max-tensor-elements", "-5"}, "--max-tensor-elements -5"},
		{[]string{"--memory", "1KB"}, `--memory "1KB": want between 1 MiB and 1 PiB`},
		{[]string{"--memory", "lots"}, `--memory "lots"`},
		{[]string{"--memory", "4 parsecs"}, "unknown unit"},
		{[]string{"--memory", "2MiB"}, "batch 1 needs about"},
	} {
		args := append(append([]string{}, run...), c.args...)
		code, _, errs := advcheck(t, args...)
		if c.say == "" { // a control: the same kind of flags, valid
			if code != 0 {
				t.Errorf("%v: exit %d: %s", c.args, code, errs)
			}
			continue
		}
		if code != 2 || !strings.Contains(errs, c.say) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying %q", c.args, code, errs, c.say)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: stderr is not one line: %q", c.args, errs)
		}
	}
	// The same checks guard every command that loads a model.
	if code, _, errs := advcheck(t, "inspect", "--scale", "0", "zoo:mnist-cnn"); code != 2 || !strings.Contains(errs, "--scale 0") {
		t.Errorf("inspect --scale 0: exit %d %s", code, errs)
	}
}

// Without --batch the batch is the largest power of two whose estimated
// memory fits --memory; an explicit batch over the budget is refused with the
// batch that would fit. The expectation is computed here from the same
// estimate (models.ProgramMemory plus the attack buffers), at a budget that
// lies between batch 8 and batch 16.
// budgetBetween8And16 loads zoo:mnist-cnn and returns it with a --memory
// budget, in bytes, between the estimates of a run at batch 8 and at batch 16
// with eps radii per norm: batch 8 fits and batch 16 does not.
func budgetBetween8And16(t *testing.T, eps int) (*models.Classifier, int64) {
	t.Helper()
	opts := &modelOptions{layout: "nchw", bounds: "0,1", scale: 1, maxBytes: defaultLimitsOptions().maxBytes, maxTensor: defaultLimitsOptions().maxTensor}
	m, err := opts.load("zoo:mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	budget := (runMemory(m, 8, eps) + runMemory(m, 16, eps)) / 2
	if budget < 1<<20 {
		t.Fatalf("budget %d is under the smallest --memory", budget)
	}
	return m, budget
}

func TestBatchFromMemory(t *testing.T) {
	models.SetThreads(1)
	defer models.SetThreads(0)
	const eps = 7 // the default MNIST grid's values per norm
	m, budget := budgetBetween8And16(t, eps)
	mem := fmt.Sprint(budget)
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, errs := advcheck(t, "sweep", "--threads", "1", "--memory", mem, "--limit", "20", "--attack", "fgsm", "--json", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	cfg := readJSON(t, out)["config"].(map[string]any)
	if cfg["batch"] != 8.0 {
		t.Errorf("batch %v under a budget of %s; want 8", cfg["batch"], formatBytes(budget))
	}
	if note, _ := cfg["eps_default"].(string); !strings.Contains(note, "MNIST-scale") {
		t.Errorf("config.eps_default = %q", note)
	}
	if code, table, _ := advcheck(t, "report", out); code != 0 || !strings.Contains(table, "eps      default for 1-channel 28×28 input: MNIST-scale grid") {
		t.Errorf("the table header does not name the default grid:\n%s", table)
	}
	code, _, errs = advcheck(t, "sweep", "--threads", "1", "--memory", mem, "--batch", "16", "--limit", "20", "--attack", "fgsm", "-q")
	if want := fmt.Sprintf("--batch 16 needs about %s (--memory budget %s); --batch 8 fits", formatBytes(runMemory(m, 16, eps)), formatBytes(budget)); code != 2 || !strings.Contains(errs, want) {
		t.Errorf("batch over budget: exit %d, %q; want exit 2 saying %q", code, errs, want)
	}
	if code, _, errs := advcheck(t, "sweep", "--threads", "1", "--memory", mem, "--batch", "8", "--limit", "20", "--attack", "fgsm", "-q"); code != 0 {
		t.Errorf("batch within budget: exit %d, %s", code, errs)
	}
}
