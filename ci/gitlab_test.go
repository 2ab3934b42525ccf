package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// gitlabJob is the part of GitLab CI's job keywords the template uses.
type gitlabJob struct {
	Image        string
	Variables    map[string]string
	BeforeScript []string `yaml:"before_script"`
	Script       []string
	Artifacts    struct {
		When     string
		ExpireIn string `yaml:"expire_in"`
		Reports  struct{ JUnit string }
		Paths    []string
	}
}

func readGitLab(t *testing.T) gitlabJob {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "ci/gitlab/advcheck.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var jobs map[string]gitlabJob
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true) // a misspelt keyword is an error here, as in GitLab
	if err := dec.Decode(&jobs); err != nil {
		t.Fatalf("ci/gitlab/advcheck.yml: %v", err)
	}
	if len(jobs) != 1 {
		t.Fatalf("ci/gitlab/advcheck.yml has %d jobs, want the one hidden job .advcheck-gate", len(jobs))
	}
	j, ok := jobs[".advcheck-gate"]
	if !ok {
		t.Fatal("ci/gitlab/advcheck.yml: no .advcheck-gate job")
	}
	return j
}

// TestGitLabTemplate checks what GitLab needs of the job (a script, the JUnit
// report wired to the file gate writes, artifacts kept when the gate fails)
// and that it installs this module's command with the build tags of `make
// build`.
func TestGitLabTemplate(t *testing.T) {
	j := readGitLab(t)
	if j.Image == "" || len(j.Script) == 0 {
		t.Fatalf("image %q, %d script lines", j.Image, len(j.Script))
	}
	if j.Artifacts.When != "always" {
		t.Errorf("artifacts:when %q: a failed gate's reports would be lost", j.Artifacts.When)
	}
	script := strings.Join(j.Script, "\n")
	junit := j.Artifacts.Reports.JUnit
	if junit == "" || !strings.Contains(script, "--junit "+junit) {
		t.Errorf("artifacts:reports:junit %q is not the file the gate writes", junit)
	}
	for _, p := range j.Artifacts.Paths {
		if !strings.Contains(script, " "+p) {
			t.Errorf("artifacts:paths lists %s, which the script does not write", p)
		}
	}
	for _, v := range []string{"ADVCHECK_POLICY", "ADVCHECK_MODEL", "ADVCHECK_REPORT", "ADVCHECK_BASELINE", "ADVCHECK_VERSION"} {
		if _, ok := j.Variables[v]; !ok {
			t.Errorf("variable %s is not declared", v)
		}
	}
	mod := regexp.MustCompile(`(?m)^module (\S+)$`).FindStringSubmatch(readFile(t, filepath.Join(repoRoot(t), "go.mod")))
	tags := regexp.MustCompile(`(?m)^TAGS\s+\?=\s+(.+)$`).FindStringSubmatch(readFile(t, filepath.Join(repoRoot(t), "Makefile")))
	if mod == nil || tags == nil {
		t.Fatal("no module line in go.mod or no TAGS in the Makefile")
	}
	install := `go install -tags '` + tags[1] + `' "` + mod[1] + `/cmd/advcheck@${ADVCHECK_VERSION}"`
	if !slices.Contains(j.BeforeScript, install) {
		t.Errorf("before_script does not install advcheck as %s:\n%s", install, strings.Join(j.BeforeScript, "\n"))
	}
}

// TestGitLabScript runs the job's script, as the runner runs it (the lines
// in one shell, stopping at the first failure), with advcheck built from
// this checkout on PATH, in sh and in bash, for a passing and a failing
// model.
func TestGitLabScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds advcheck and runs gates")
	}
	j := readGitLab(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", filepath.Join(bin, "advcheck"), "./cmd/advcheck")
	build.Dir = repoRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, shell := range []string{"sh", "bash"} {
		for _, c := range []struct {
			model string
			code  int
		}{{"", 0}, {"zoo:mnist-cnn", 1}} {
			ws := workspace(t)
			cmd := exec.Command(shell, "-e", "-c", strings.Join(j.Script, "\n"))
			cmd.Dir = ws
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + ws, "CI=true", "GITLAB_CI=true"}
			for k, v := range j.Variables {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			cmd.Env = append(cmd.Env, "ADVCHECK_MODEL="+c.model)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code {
				t.Errorf("%s, model %q: exit %d, want %d\n%s", shell, c.model, code, c.code, out)
				continue
			}
			junit := readFile(t, filepath.Join(ws, j.Artifacts.Reports.JUnit))
			if strings.Contains(junit, "<failure") != (c.code != 0) || !strings.Contains(junit, `name="attack/fgsm/0.3/min_accuracy"`) {
				t.Errorf("%s, model %q: JUnit XML:\n%s", shell, c.model, junit)
			}
			for _, p := range j.Artifacts.Paths {
				if fi, err := os.Stat(filepath.Join(ws, p)); err != nil || fi.Size() == 0 {
					t.Errorf("%s, model %q: artifact %s not written (%v)", shell, c.model, p, err)
				}
			}
		}
	}
}
