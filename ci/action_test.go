// Package ci tests the CI integrations: the GitHub Action (action.yml at the
// repository root, which runs ci/github/run-gate.sh) and the GitLab CI
// template (ci/gitlab/advcheck.yml). The tests run the steps as the CI
// systems would, on the embedded zoo models, and check exit status, outputs,
// job summary and JUnit XML.
package ci

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// action is the part of action.yml's metadata syntax that the tests read.
type action struct {
	Name        string
	Description string
	Author      string
	Branding    map[string]string
	Inputs      map[string]struct {
		Description string
		Required    bool
		Default     string
	}
	Outputs map[string]struct {
		Description string
		Value       string
	}
	Runs struct {
		Using string
		Steps []step
	}
}

type step struct {
	ID    string
	Name  string
	Uses  string
	If    string
	Shell string
	Run   string
	Env   map[string]string
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readAction(t *testing.T) action {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a action
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

var expr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval replaces the ${{ }} expressions of s. Only inputs.NAME of a declared
// input is understood: the runner would evaluate anything else, and this
// test could not check what the step then does.
func eval(t *testing.T, a action, s string, inputs map[string]string) string {
	t.Helper()
	return expr.ReplaceAllStringFunc(s, func(m string) string {
		e := expr.FindStringSubmatch(m)[1]
		name, ok := strings.CutPrefix(e, "inputs.")
		in, declared := a.Inputs[name]
		if !ok || !declared {
			t.Fatalf("action.yml: expression %q: the test knows only inputs.NAME of declared inputs", m)
		}
		if v, ok := inputs[name]; ok {
			return v
		}
		return in.Default
	})
}

// runResult is what one run of the action left.
type runResult struct {
	code    int
	log     string
	outputs map[string]string // the action's outputs, through outputs.*.value
	summary string
	ws      string // GITHUB_WORKSPACE
}

// runAction runs the steps of action.yml as the runner runs a composite
// action's steps: each run: script written to a file and started with
// `bash --noprofile --norc -eo pipefail FILE` in the workspace, with the
// runner's variables and the step's env set. The steps' outputs go through
// $GITHUB_OUTPUT and are mapped to the action's outputs by their value
// expressions.
func runAction(t *testing.T, a action, ws string, inputs map[string]string, extraEnv ...string) runResult {
	t.Helper()
	root := repoRoot(t)
	temp := t.TempDir()
	summary := filepath.Join(temp, "step_summary.md")
	stepOutputs := map[string]map[string]string{}
	res := runResult{ws: ws}
	goBin := goBinDir(t)
	for i, s := range a.Runs.Steps {
		outFile := filepath.Join(temp, fmt.Sprintf("output_%d", i))
		script := filepath.Join(temp, fmt.Sprintf("step_%d.sh", i))
		if err := os.WriteFile(script, []byte(eval(t, a, s.Run, inputs)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{outFile, summary} {
			if f, err := os.OpenFile(f, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				f.Close()
			}
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Dir = ws
		// A clean environment: what a runner sets, and Go's caches so the
		// build from source reuses this machine's.
		env := []string{
			"PATH=" + goBin + string(os.PathListSeparator) + "/usr/local/bin:/usr/bin:/bin",
			"HOME=" + os.Getenv("HOME"),
			"CI=true",
			"GITHUB_ACTIONS=true",
			"GITHUB_ACTION_PATH=" + root,
			"GITHUB_WORKSPACE=" + ws,
			"GITHUB_OUTPUT=" + outFile,
			"GITHUB_STEP_SUMMARY=" + summary,
			"RUNNER_TEMP=" + filepath.Join(temp, "runner_temp"),
			"RUNNER_OS=" + map[string]string{"linux": "Linux", "darwin": "macOS"}[runtime.GOOS],
			"RUNNER_ARCH=" + map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH],
		}
		for _, k := range []string{"GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN", "OPENBLAS_CORETYPE", "TMPDIR"} {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
		if v, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
			env = append(env, "GOCACHE="+strings.TrimSpace(string(v)))
		}
		os.MkdirAll(filepath.Join(temp, "runner_temp"), 0o755)
		for k, v := range s.Env {
			env = append(env, k+"="+eval(t, a, v, inputs))
		}
		cmd.Env = append(env, extraEnv...)
		out, err := cmd.CombinedOutput()
		res.log += string(out)
		if ee, ok := err.(*exec.ExitError); ok {
			res.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		stepOutputs[s.ID] = parseOutputFile(t, outFile)
		if res.code != 0 {
			break // a failed step ends a composite action
		}
	}
	res.outputs = map[string]string{}
	ref := regexp.MustCompile(`^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$`)
	for name, o := range a.Outputs {
		m := ref.FindStringSubmatch(o.Value)
		if m == nil {
			t.Fatalf("action.yml: output %s: value %q is not ${{ steps.ID.outputs.NAME }}", name, o.Value)
		}
		res.outputs[name] = stepOutputs[m[1]][m[2]]
	}
	b, _ := os.ReadFile(summary)
	res.summary = string(b)
	return res
}

// parseOutputFile reads $GITHUB_OUTPUT: NAME=VALUE lines and NAME<<DELIM
// blocks, as the runner does.
func parseOutputFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if k, delim, ok := strings.Cut(l, "<<"); ok && !strings.Contains(k, "=") {
			var v []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				v = append(v, lines[i])
			}
			m[k] = strings.Join(v, "\n")
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT line %q is neither NAME=VALUE nor NAME<<DELIMITER", l)
		}
		if _, dup := m[k]; dup {
			t.Errorf("GITHUB_OUTPUT sets %s twice", k)
		}
		m[k] = v
	}
	return m
}

func workspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata/policies/fgsm-small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "robustness.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return ws
}

// TestActionMetadata checks action.yml's interface: the inputs and outputs
// docs/gate.md documents, a composite action whose steps are all run: steps
// in bash calling the tested script (a uses: step would need a runner).
func TestActionMetadata(t *testing.T) {
	a := readAction(t)
	var in, out []string
	for k := range a.Inputs {
		in = append(in, k)
	}
	for k := range a.Outputs {
		out = append(out, k)
	}
	sort.Strings(in)
	sort.Strings(out)
	if want := []string{"baseline", "junit", "model", "policy", "report", "version"}; !slices.Equal(in, want) {
		t.Errorf("inputs %v, want %v", in, want)
	}
	if want := []string{"passed", "report"}; !slices.Equal(out, want) {
		t.Errorf("outputs %v, want %v", out, want)
	}
	if !a.Inputs["policy"].Required {
		t.Error("the policy input is not required")
	}
	if a.Runs.Using != "composite" || len(a.Runs.Steps) == 0 {
		t.Fatalf("runs.using %q with %d steps, want a composite action", a.Runs.Using, len(a.Runs.Steps))
	}
	calls := false
	for _, s := range a.Runs.Steps {
		if s.Uses != "" || s.If != "" || s.Shell != "bash" || s.Run == "" {
			t.Errorf("step %q: want an unconditional run: step with shell: bash (uses %q, if %q, shell %q)", s.ID, s.Uses, s.If, s.Shell)
		}
		calls = calls || strings.Contains(s.Run, "$GITHUB_ACTION_PATH/ci/github/run-gate.sh")
	}
	if !calls {
		t.Error("no step runs ci/github/run-gate.sh")
	}
}

// TestActionGate runs the action's steps for a passing and a failing gate,
// for a saved report, and for a policy that does not exist.
func TestActionGate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds advcheck and runs gates")
	}
	a := readAction(t)
	ws := workspace(t)

	pass := runAction(t, a, ws, map[string]string{"policy": "robustness.yaml", "junit": "junit.xml"})
	if pass.code != 0 || pass.outputs["passed"] != "true" {
		t.Fatalf("passing policy: exit %d, passed=%q\n%s", pass.code, pass.outputs["passed"], pass.log)
	}
	passReport := checkReport(t, pass, true)
	if !strings.Contains(pass.summary, "gate passed") || !strings.Contains(pass.summary, `| ✅ | attack/fgsm/0.3/min\_accuracy |`) {
		t.Errorf("job summary of a passing gate:\n%s", pass.summary)
	}
	junit := readFile(t, filepath.Join(ws, "junit.xml"))
	if !strings.Contains(junit, `name="attack/fgsm/0.3/min_accuracy"`) || strings.Contains(junit, "<failure") {
		t.Errorf("JUnit XML of a passing gate:\n%s", junit)
	}

	// The undefended model fails the same policy: the step fails with
	// gate's exit status, and the summary, outputs and JUnit say why.
	fail := runAction(t, a, ws, map[string]string{"policy": "robustness.yaml", "model": "zoo:mnist-cnn", "junit": "junit.xml"})
	if fail.code != 1 || fail.outputs["passed"] != "false" {
		t.Fatalf("failing model: exit %d, passed=%q\n%s", fail.code, fail.outputs["passed"], fail.log)
	}
	failReport := checkReport(t, fail, false)
	if !strings.Contains(fail.summary, "gate FAILED") || !strings.Contains(fail.summary, `| ❌ | attack/fgsm/0.3/min\_accuracy |`) {
		t.Errorf("job summary of a failing gate:\n%s", fail.summary)
	}
	if !strings.Contains(readFile(t, filepath.Join(ws, "junit.xml")), "<failure") {
		t.Error("the JUnit XML of a failing gate has no failure")
	}
	if !strings.Contains(fail.log, "::error title=advcheck gate::") {
		t.Errorf("no error annotation for a failing gate:\n%s", fail.log)
	}

	// Gating saved reports: the same verdicts, without a sweep; the
	// baseline input reaches the gate (a no_regression policy needs it).
	keep := func(src, name string) string {
		dst := filepath.Join(ws, name)
		if err := os.WriteFile(dst, []byte(readFile(t, src)), 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}
	plain, adv := keep(failReport, "plain.json"), keep(passReport, "adv.json")
	if r := runAction(t, a, ws, map[string]string{"policy": "robustness.yaml", "model": "zoo:mnist-cnn", "report": plain}); r.code != 1 || r.outputs["passed"] != "false" {
		t.Errorf("report input, failing: exit %d passed=%q\n%s", r.code, r.outputs["passed"], r.log)
	}
	reg := readFile(t, filepath.Join(ws, "robustness.yaml")) + "  - no_regression: {attack: fgsm, eps: 0.3, alpha: 0.05}\n"
	os.WriteFile(filepath.Join(ws, "regression.yaml"), []byte(reg), 0o644)
	if r := runAction(t, a, ws, map[string]string{"policy": "regression.yaml", "report": adv, "baseline": adv}); r.code != 0 || r.outputs["passed"] != "true" {
		t.Errorf("report and baseline inputs, same report: exit %d passed=%q\n%s", r.code, r.outputs["passed"], r.log)
	}
	r := runAction(t, a, ws, map[string]string{"policy": "regression.yaml", "model": "zoo:mnist-cnn", "report": plain, "baseline": adv})
	if r.code != 1 || !strings.Contains(r.summary, `| ❌ | attack/fgsm/0.3/no\_regression |`) {
		t.Errorf("undefended model against the trained one's baseline: exit %d\n%s\n%s", r.code, r.log, r.summary)
	}

	// A policy that does not exist: gate's usage error, no report.
	bad := runAction(t, a, ws, map[string]string{"policy": "missing.yaml"})
	if bad.code != 2 || bad.outputs["passed"] != "false" || bad.outputs["report"] != "" {
		t.Errorf("missing policy: exit %d, outputs %v\n%s", bad.code, bad.outputs, bad.log)
	}
	if !strings.Contains(bad.summary, "stopped before it wrote a report (exit 2)") {
		t.Errorf("job summary of a gate that did not start:\n%s", bad.summary)
	}
}

// checkReport checks the report output: a report written by this run, with
// the gate's verdict.
func checkReport(t *testing.T, r runResult, passed bool) string {
	t.Helper()
	path := r.outputs["report"]
	if path == "" || !filepath.IsAbs(path) {
		t.Fatalf("report output %q, want an absolute path", path)
	}
	var rep struct {
		Gate struct{ Passed bool }
	}
	if err := json.Unmarshal([]byte(readFile(t, path)), &rep); err != nil {
		t.Fatalf("report output %s: %v", path, err)
	}
	if rep.Gate.Passed != passed {
		t.Errorf("report %s: gate.passed %v, want %v", path, rep.Gate.Passed, passed)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestActionRelease installs advcheck the way `version: vX.Y.Z` does, from
// a release laid out by scripts/dist.sh (served from a file: URL in place of
// the release host), and refuses a binary whose SHA-256 is not the listed
// one, and a version that is not a release tag.
func TestActionRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds advcheck and runs gates")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	a := readAction(t)
	ws := workspace(t)
	releases := t.TempDir()
	const version = "v0.0.0-test"
	dir := filepath.Join(releases, version)
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts/dist.sh"), dir, runtime.GOOS+"/"+runtime.GOARCH)
	cmd.Env = append(os.Environ(), "VERSION="+version)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/dist.sh: %v\n%s", err, out)
	}
	mirror := "ADVCHECK_RELEASE_URL=file://" + releases
	r := runAction(t, a, ws, map[string]string{"policy": "robustness.yaml", "version": version}, mirror)
	if r.code != 0 || r.outputs["passed"] != "true" || !strings.Contains(r.log, "advcheck "+version) {
		t.Fatalf("release %s: exit %d passed=%q\n%s", version, r.code, r.outputs["passed"], r.log)
	}

	// One changed byte in the binary: refused before it runs.
	asset := filepath.Join(dir, "advcheck-"+runtime.GOOS+"-"+runtime.GOARCH)
	b, err := os.ReadFile(asset)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	os.WriteFile(asset, b, 0o755)
	r = runAction(t, a, ws, map[string]string{"policy": "robustness.yaml", "version": version}, mirror)
	if r.code != 4 || r.outputs["passed"] != "false" || !strings.Contains(r.log, "SHA256SUMS") || strings.Contains(r.log, "advcheck "+version) {
		t.Errorf("tampered binary: exit %d passed=%q\n%s", r.code, r.outputs["passed"], r.log)
	}
	for _, v := range []string{"latest", "v1.2", "v1.2.3/../../x"} {
		r = runAction(t, a, ws, map[string]string{"policy": "robustness.yaml", "version": v}, mirror)
		if r.code != 2 || !strings.Contains(r.log, "is not a release tag") {
			t.Errorf("version %q: exit %d\n%s", v, r.code, r.log)
		}
	}
	// A release without this platform's binary.
	os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(strings.Repeat("0", 64)+"  advcheck-plan9-mips\n"), 0o644)
	r = runAction(t, a, ws, map[string]string{"policy": "robustness.yaml", "version": version}, mirror)
	if r.code != 4 || !strings.Contains(r.log, "lists no advcheck-") {
		t.Errorf("release without this platform: exit %d\n%s", r.code, r.log)
	}
}

// goBinDir is the folder of the go command the tests run under.
func goBinDir(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	return filepath.Dir(goCmd)
}
