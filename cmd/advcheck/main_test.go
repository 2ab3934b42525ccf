package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/advcheck/advcheck/internal/npy"
)

// TestMain lets tests run the real binary: with ADVCHECK_TEST_MAIN=1 the
// test executable is advcheck.
func TestMain(m *testing.M) {
	if os.Getenv("ADVCHECK_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// advcheck runs the command in a child process and returns its exit status,
// stdout and stderr; a child that runs past the test binary's own deadline
// is killed and fails the test (advcheckWithin).
func advcheck(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return advcheckWithin(t, 10*time.Minute, args...)
}

// withoutRun returns a report's JSON without its provenance block.
func withoutRun(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	delete(v, "run")
	out, _ := json.Marshal(v)
	return string(out)
}

func readJSON(t *testing.T, path string) map[string]any {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Small sweeps keep these tests quick; the machinery is the same.
var quick = []string{"--limit", "24", "--batch", "8", "--attack", "fgsm,pgd:steps=3", "--eps", "0,0.1,0.2"}

func TestSweepOutputsAndDeterminism(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	code, out, errs := advcheck(t, append([]string{"sweep", "--json", a, "--html", filepath.Join(dir, "r.html"),
		"--md", filepath.Join(dir, "r.md"), "--junit", filepath.Join(dir, "r.xml"), "--samples", filepath.Join(dir, "s.jsonl"),
		"--save-adv", filepath.Join(dir, "adv")}, quick...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"clean    accuracy", "worst case (fgsm, pgd:steps=3)", "median minimal eps"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"r.html", "r.md", "r.xml", "s.jsonl", "adv/index.npy", "adv/fgsm__linf_eps0.1.npy", "adv/pgd_steps=3__linf_eps0.2.npy"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if lines := strings.Count(mustRead(t, filepath.Join(dir, "s.jsonl")), "\n"); lines != 24 {
		t.Errorf("samples file has %d lines, want 24", lines)
	}
	// Same command, other thread count and batch size: same bytes outside run.
	code, _, errs = advcheck(t, append([]string{"sweep", "--threads", "1", "--json", b, "-q"}, quick...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if withoutRun(t, a) != withoutRun(t, b) {
		t.Error("two runs of the same command differ outside the run block")
	}
	// advcheck report re-renders the same table.
	code, again, _ := advcheck(t, "report", a)
	if code != 0 || again != out {
		t.Errorf("report re-render differs (exit %d)", code)
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// N processes with --shard, merged, equal one process.
func TestShardsMerge(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.json")
	if code, _, errs := advcheck(t, append([]string{"sweep", "--json", full, "-q"}, quick...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var parts []string
	procs := make([]*exec.Cmd, 3)
	for i := range procs {
		p := filepath.Join(dir, "part"+string(rune('0'+i))+".json")
		parts = append(parts, p)
		procs[i] = exec.Command(os.Args[0], append([]string{"sweep", "--shard", string(rune('0'+i)) + "/3", "--json", p, "-q", "--threads", "1"}, quick...)...)
		procs[i].Env = append(os.Environ(), "ADVCHECK_TEST_MAIN=1")
		if err := procs[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	if code, _, errs := advcheck(t, append([]string{"merge", "--json", merged, "-q"}, parts...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if withoutRun(t, full) != withoutRun(t, merged) {
		t.Error("merged shards differ from the single-process report")
	}
	if code, _, errs := advcheck(t, "merge", "--json", merged, parts[0], parts[1]); code != 3 || !strings.Contains(errs, "shards missing") {
		t.Errorf("merge with a missing shard: exit %d, %s", code, errs)
	}
}

// A long sweep stopped by a signal or --timeout writes a partial report with
// the right exit status, and --resume completes it to the uninterrupted report.
func TestInterruptTimeoutResume(t *testing.T) {
	dir := t.TempDir()
	long := []string{"--limit", "200", "--batch", "8", "--attack", "pgd:steps=20", "--eps", "0,0.1,0.2", "-q"}
	full := filepath.Join(dir, "full.json")
	start := time.Now()
	if code, _, errs := advcheck(t, append([]string{"sweep", "--json", full}, long...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// --timeout counts from the start, loading included. It is half the
	// uninterrupted run's time (about 11 s on an idle machine, with two
	// threads; this run has one), so that a busy machine, which slows
	// loading and attacks alike, still stops the run midway.
	half := max(time.Since(start)/2, 3*time.Second).Round(time.Second)
	partial := filepath.Join(dir, "partial.json")
	code, _, errs := advcheck(t, append([]string{"sweep", "--json", partial, "--timeout", half.String(), "--threads", "1"}, long...)...)
	if code != 124 {
		t.Fatalf("--timeout: exit %d, want 124: %s", code, errs)
	}
	r := readJSON(t, partial)
	if r["complete"] != false {
		t.Fatalf("partial report complete = %v", r["complete"])
	}
	if n := r["dataset"].(map[string]any)["samples"].(float64); n <= 0 || n >= 200 {
		t.Fatalf("partial report holds %v samples; make the run longer or the timeout shorter", n)
	}
	resumed := filepath.Join(dir, "resumed.json")
	if code, _, errs := advcheck(t, append([]string{"sweep", "--json", resumed, "--resume", partial}, long...)...); code != 0 {
		t.Fatalf("--resume: exit %d: %s", code, errs)
	}
	if withoutRun(t, full) != withoutRun(t, resumed) {
		t.Error("the resumed report differs from the uninterrupted one")
	}
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		out := filepath.Join(dir, "sig.json")
		cmd := exec.Command(os.Args[0], append([]string{"sweep", "--json", out, "--threads", "1", "--progress", "always"}, long...)...)
		cmd.Env = append(os.Environ(), "ADVCHECK_TEST_MAIN=1")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		errs := signalMidRun(cmd, stderr, sig)
		cmd.Wait()
		if got := cmd.ProcessState.ExitCode(); got != want {
			t.Errorf("%v: exit %d, want %d: %s", sig, got, want, errs)
		}
		if readJSON(t, out)["complete"] != false {
			t.Errorf("%v: no partial report", sig)
		}
	}
}

// progressCount matches the progress bar's "(done/total)".
var progressCount = regexp.MustCompile(`\((\d+)/(\d+)\)`)

// signalMidRun reads a started command's stderr, drawn with --progress
// always, to its end, sends sig the first time the bar shows some but not all
// of the work done (after loading, during which a signal ends the command
// without a report, and before the end, however busy the machine), and
// returns what was read.
func signalMidRun(cmd *exec.Cmd, stderr io.Reader, sig syscall.Signal) string {
	var seen []byte
	buf := make([]byte, 4096)
	sent := false
	for {
		n, err := stderr.Read(buf)
		seen = append(seen, buf[:n]...)
		if !sent {
			for _, m := range progressCount.FindAllSubmatch(seen, -1) {
				done, _ := strconv.Atoi(string(m[1]))
				total, _ := strconv.Atoi(string(m[2]))
				if done > 0 && done < total {
					cmd.Process.Signal(sig)
					sent = true
					break
				}
			}
		}
		if err != nil {
			return string(seen)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.onnx")
	os.WriteFile(bad, []byte("not a model at all"), 0o644)
	// A data set whose labels exceed the model's 10 classes.
	var xb, yb bytes.Buffer
	npy.WriteUint8(&xb, []int{2, 28, 28}, make([]uint8, 2*784))
	npy.WriteInt64(&yb, []int{2}, []int64{3, 12})
	os.WriteFile(filepath.Join(dir, "x.npy"), xb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "y.npy"), yb.Bytes(), 0o644)
	trunc := filepath.Join(dir, "trunc.onnx")
	zoo, _ := os.ReadFile("../../testdata/models/view_chain.onnx")
	os.WriteFile(trunc, zoo[:len(zoo)/2], 0o644)
	for _, c := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"sweep", "--bogus"}, 2, "unknown flag"},
		{[]string{"sweep", "--attack", "pgb"}, 2, "unknown attack"},
		{[]string{"sweep", "--eps", "-1"}, 2, "negative"},
		{[]string{"sweep", "--shard", "3/3"}, 2, "--shard"},
		{[]string{"sweep", "--batch", "0"}, 2, "--batch"},
		{[]string{"sweep", "--labels", "maybe"}, 2, "--labels"},
		{[]string{"sweep", "--bounds", "1,0"}, 2, "bounds"},
		{[]string{"sweep", "--data", "csv:x"}, 2, "bad data spec"},
		{[]string{"sweep", "--model", bad}, 3, "not a valid ONNX model"},
		{[]string{"sweep", "--model", trunc}, 3, "bad model"},
		{[]string{"sweep", "--model", filepath.Join(dir, "missing.onnx")}, 3, "no such file"},
		{[]string{"sweep", "--data", "mnist:" + dir}, 3, "make data"},
		{[]string{"sweep", "--data", "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y.npy")}, 3, "label 12 of sample 1 is outside [0, 10)"},
		{[]string{"sweep", "--model-sha256", strings.Repeat("0", 64), "--limit", "2"}, 3, "does not match the pinned"},
		{[]string{"sweep", "--model", "zoo:nope"}, 3, "no model"},
		{[]string{"sweep", "--model", "../../testdata/models/depthwise.onnx", "--limit", "2"}, 3, "the model takes [3 16 16]"},
		{[]string{"sweep", "--attack", "apgd-t:targets=12", "--limit", "4", "--eps", "0.1"}, 2, "needs at least 13 classes"},
		{[]string{"report", filepath.Join(dir, "missing.json")}, 3, "bad report"},
		{[]string{"report", bad}, 3, "not JSON"},
		{[]string{"inspect"}, 2, "accepts 1 arg"},
	} {
		code, _, errs := advcheck(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.say) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", c.args, code, errs, c.code, c.say)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: stderr is not one line: %q", c.args, errs)
		}
	}
}

func TestSignVerify(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	if code, _, errs := advcheck(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	rep := filepath.Join(dir, "r.json")
	if code, _, errs := advcheck(t, append([]string{"sweep", "--json", rep, "-q"}, quick...)...); code != 0 {
		t.Fatalf("sweep: %d %s", code, errs)
	}
	if code, _, errs := advcheck(t, "sign", rep, "--key", key+".key"); code != 0 {
		t.Fatalf("sign: %d %s", code, errs)
	}
	if code, out, errs := advcheck(t, "verify", rep, "--pub", key+".pub", "--model", "zoo:mnist-cnn", "--data", "mnist-sample"); code != 0 || !strings.Contains(out, "data OK") {
		t.Fatalf("verify: %d %s %s", code, out, errs)
	}
	if code, _, errs := advcheck(t, "verify", rep, "--pub", key+".pub", "--model", "zoo:mnist-mlp"); code != 1 || !strings.Contains(errs, "is about model") {
		t.Errorf("verify against another model: %d %s", code, errs)
	}
	b, _ := os.ReadFile(rep)
	b[len(b)/2] ^= 1
	os.WriteFile(rep, b, 0o644)
	if code, _, errs := advcheck(t, "verify", rep, "--pub", key+".pub"); code != 1 || !strings.Contains(errs, "changed since it was signed") {
		t.Errorf("verify after a changed byte: %d %s", code, errs)
	}
	if code, _, _ := advcheck(t, "verify", filepath.Join(dir, "nope"), "--pub", key+".pub"); code != 3 {
		t.Errorf("verify a missing file: %d", code)
	}
}

// The example policy passes the adversarially trained zoo model and fails
// the undefended one, with JUnit test cases named by stable ids.
func TestGateExamplePolicy(t *testing.T) {
	dir := t.TempDir()
	policy := "../../testdata/policies/mnist-robust.yaml"
	junit := filepath.Join(dir, "junit.xml")
	code, out, errs := advcheck(t, "gate", "--policy", policy, "--junit", junit, "--json", filepath.Join(dir, "adv.json"))
	if code != 0 {
		t.Fatalf("adversarially trained model: exit %d\n%s\n%s", code, out, errs)
	}
	if x := mustRead(t, junit); !strings.Contains(x, `name="worst_case/linf/0.3/min_accuracy"`) || strings.Contains(x, "<failure") {
		t.Errorf("junit:\n%s", x)
	}
	undefended := filepath.Join(dir, "undefended.yaml")
	os.WriteFile(undefended, []byte(strings.Replace(mustRead(t, policy), "zoo:mnist-cnn-adv", "zoo:mnist-cnn", 1)), 0o644)
	code, out, errs = advcheck(t, "gate", "--policy", undefended, "--junit", junit, "--md", filepath.Join(dir, "s.md"), "--json", filepath.Join(dir, "plain.json"))
	if code != 1 || !strings.Contains(errs, "worst_case/linf/0.3/min_accuracy") {
		t.Fatalf("undefended model: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(mustRead(t, junit), "<failure") || !strings.Contains(mustRead(t, filepath.Join(dir, "s.md")), "gate FAILED") {
		t.Error("the failure is not in the JUnit XML or the Markdown summary")
	}
	// Gating the saved report gives the same verdict without recomputing.
	if code, _, _ := advcheck(t, "gate", "--policy", undefended, "--report", filepath.Join(dir, "plain.json"), "-q"); code != 1 {
		t.Errorf("--report: exit %d, want 1", code)
	}
	// Against the adversarially trained model's report, the undefended one is a regression.
	reg := filepath.Join(dir, "reg.yaml")
	os.WriteFile(reg, []byte(strings.Replace(mustRead(t, "../../testdata/policies/no-regression.yaml"), "zoo:mnist-cnn-adv", "zoo:mnist-cnn", 1)), 0o644)
	code, _, errs = advcheck(t, "gate", "--policy", reg, "--report", filepath.Join(dir, "plain.json"), "--baseline", filepath.Join(dir, "adv.json"), "-q")
	if code != 1 || !strings.Contains(errs, "no_regression") {
		t.Errorf("regression against the baseline: exit %d %s", code, errs)
	}
	if code, _, errs := advcheck(t, "gate", "--policy", reg, "--report", filepath.Join(dir, "adv.json"), "-q"); code != 2 || !strings.Contains(errs, "--baseline") {
		t.Errorf("no_regression without --baseline: exit %d %s", code, errs)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: advcheck/policy/v1\nmodel: m\nattacks: [fgsm]\nrequirements:\n  - min_acuracy: 0.5\n"), 0o644)
	if code, _, errs := advcheck(t, "gate", "--policy", bad); code != 2 || !strings.Contains(errs, "line 5, column 5") {
		t.Errorf("bad policy: exit %d %s", code, errs)
	}
	pinned := filepath.Join(dir, "pinned.yaml")
	os.WriteFile(pinned, []byte(strings.Replace(mustRead(t, policy), "path: zoo:mnist-cnn-adv", "path: zoo:mnist-cnn-adv\n  sha256: "+strings.Repeat("a", 64), 1)), 0o644)
	if code, _, errs := advcheck(t, "gate", "--policy", pinned); code != 3 || !strings.Contains(errs, "pinned") {
		t.Errorf("pinned sha mismatch: exit %d %s", code, errs)
	}
}

// --require-signature refuses unsigned and wrongly signed models (exit 1,
// in sweep and in the sweep gate runs), a key that cannot be read is a
// usage error, and a metadata sidecar must match the file.
func TestModelIntegrity(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.onnx")
	b, _ := os.ReadFile("../../testdata/models/mlp.onnx")
	os.WriteFile(model, b, 0o644)
	advcheck(t, "keygen", "--out", filepath.Join(dir, "k"))
	args := []string{"sweep", "--model", model, "--limit", "4", "--attack", "fgsm", "--eps", "0,0.1", "-q", "--require-signature", filepath.Join(dir, "k.pub")}
	policy := filepath.Join(dir, "p.yaml")
	os.WriteFile(policy, []byte("apiVersion: advcheck/policy/v1\nmodel: "+model+"\ndata: {limit: 4}\nattacks: [fgsm]\neps: [0, 0.1]\nrequirements: [{min_clean_accuracy: 0}]\n"), 0o644)
	gate := []string{"gate", "--policy", policy, "-q", "--require-signature", filepath.Join(dir, "k.pub")}
	for _, a := range [][]string{args, gate} {
		if code, _, errs := advcheck(t, a...); code != 1 || !strings.Contains(errs, "require-signature") || !strings.Contains(errs, "is not signed") {
			t.Errorf("%s: unsigned model: exit %d %s", a[0], code, errs)
		}
		missing := append(append([]string(nil), a[:len(a)-1]...), filepath.Join(dir, "nope.pub"))
		if code, _, errs := advcheck(t, missing...); code != 2 || !strings.Contains(errs, "nope.pub") {
			t.Errorf("%s: missing key: exit %d %s", a[0], code, errs)
		}
	}
	advcheck(t, "sign", model, "--key", filepath.Join(dir, "k.key"))
	for _, a := range [][]string{args, gate} {
		if code, _, errs := advcheck(t, a...); code != 0 {
			t.Errorf("%s: signed model: exit %d %s", a[0], code, errs)
		}
	}
	// A partial report to resume from is a report read: it must be signed too.
	if code, _, errs := advcheck(t, append(args, "--resume", policy)...); code != 1 || !strings.Contains(errs, "p.yaml is not signed") {
		t.Errorf("sweep --resume of an unsigned report: exit %d %s", code, errs)
	}
	os.WriteFile(model, append(b, 0), 0o644)
	for _, a := range [][]string{args, gate} {
		if code, _, errs := advcheck(t, a...); code != 1 || !strings.Contains(errs, "changed since it was signed") {
			t.Errorf("%s: modified model: exit %d %s", a[0], code, errs)
		}
	}
	os.WriteFile(model, b, 0o644)
	os.WriteFile(model+".metadata.json", []byte(`{"version": "1.2", "sha256": "`+strings.Repeat("0", 64)+`", "created": "2026-01-01", "framework": "pytorch"}`), 0o644)
	if code, _, errs := advcheck(t, args[:len(args)-2]...); code != 3 || !strings.Contains(errs, "metadata.json says sha256") {
		t.Errorf("wrong sidecar: exit %d %s", code, errs)
	}
}
