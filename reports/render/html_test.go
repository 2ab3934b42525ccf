package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/reports"
)

// chromium finds the browser the HTML test renders reports in.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("ADVCHECK_SKIP_BROWSER") == "1" {
		t.Skip("no Chromium, and ADVCHECK_SKIP_BROWSER=1")
	}
	t.Fatal("the HTML report test needs Chromium (Debian: apt-get install chromium; `make deps` installs it)")
	return ""
}

// TestHTMLInChromium renders a real report, with hostile text in every field
// that comes from outside, and loads it in headless Chromium: the page must
// load without script errors, draw its plots and images, and show the
// hostile text as text.
func TestHTMLInChromium(t *testing.T) {
	browser := chromium(t)
	m, src := fixture(t, 12)
	r, err := newReport(t, plan(t, m, src, "fgsm", "pgd:steps=3", "pgd:steps=3,norm=l2"), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	evil := `<script>document.title="pwned"</script><img src=x onerror=alert(1)>`
	r.Model.Path = "models/" + evil + ".onnx"
	r.Model.Classes = []string{evil, "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	r.Dataset.Spec = "folder:" + evil
	r.Flags = append(r.Flags, reports.Flag{ID: "test", Severity: "warning", Message: evil})
	r.Run.Command = []string{"advcheck", "sweep", evil}
	r.Examples = append(r.Examples, reports.Example{Index: 99, Clean: "javascript:alert(1)", Adversarial: "data:text/html,<b>x</b>"})
	var buf bytes.Buffer
	if err := HTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, evil) || strings.Contains(page, "javascript:alert") || strings.Contains(page, "data:text/html") {
		t.Fatal("hostile text reached the page unescaped")
	}
	dom, attr := loadInChromium(t, browser, buf.Bytes())
	if e := attr("data-js-errors"); e != "" {
		t.Errorf("%s script errors in the page", e)
	}
	if p := attr("data-plots-rendered"); p != "4" {
		t.Errorf("plots rendered: %q, want 4 (accuracy and cosine for L∞ and L2)", p)
	}
	// The hostile example's images were dropped (empty src): ours all load, it does not.
	want := fmt.Sprintf("%d/%d", 3*(len(r.Examples)-1), 3*len(r.Examples))
	if got := attr("data-images-loaded"); got != want || len(r.Examples) < 2 {
		t.Errorf("images loaded: %q, want %s", got, want)
	}
	if strings.Contains(dom, "<title>pwned") || strings.Contains(dom, "<img src=\"x\"") {
		t.Error("hostile markup became part of the page")
	}
	if !strings.Contains(dom, "Robust accuracy vs eps") {
		t.Error("the page has no accuracy plot")
	}
}

// loadInChromium writes page to a file, loads it in headless Chromium and
// returns the DOM after the page's scripts ran, and a reader of the body's
// data attributes.
func loadInChromium(t *testing.T, browser string, page []byte) (string, func(string) string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--virtual-time-budget=5000", "--dump-dom", "file://"+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := string(out)
	attr := func(name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(dom)
		if m == nil {
			return ""
		}
		return m[1]
	}
	return dom, attr
}

// An output (embedding) task's page shows the outputs' cosine, per norm a
// plot of its mean and 5th percentile, and none of the classification
// sections, whose figures do not exist for it.
func TestEmbeddingHTMLInChromium(t *testing.T) {
	browser := chromium(t)
	m, src := fixture(t, 9)
	p := plan(t, m, src, "fgsm", "pgd:steps=3", "pgd:steps=3,norm=l2")
	p.Task, p.OutputLoss, p.Checks, p.Examples = reports.TaskEmbedding, models.OutputCosine, false, 0
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := HTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	dom, attr := loadInChromium(t, browser, buf.Bytes())
	if e := attr("data-js-errors"); e != "" {
		t.Errorf("%s script errors in the page", e)
	}
	if got := attr("data-plots-rendered"); got != "2" {
		t.Errorf("plots rendered: %q, want 2 (output cosine for L∞ and L2)", got)
	}
	for _, want := range []string{"Cosine of clean and adversarial outputs (linf)", "Output task (cosine loss)", "cos outputs mean / p5 / min"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, not := range []string{"Clean accuracy", "Robust accuracy vs eps", "<h2>Worst case</h2>", "cos logits"} {
		if strings.Contains(dom, not) {
			t.Errorf("an output task's page shows %q", not)
		}
	}
	// Every row's mean cosine is on the page as the report has it.
	for _, res := range r.Results {
		if res.Cosine.Outputs == nil || !res.Cosine.Outputs.Mean.Valid() {
			t.Fatalf("%s at eps %g has no output cosine", res.AttackID, res.Eps)
		}
		if cell := fmt.Sprintf("%.4f / ", float64(res.Cosine.Outputs.Mean)); !strings.Contains(dom, cell) {
			t.Errorf("%s at eps %g: mean cosine %q not on the page", res.AttackID, res.Eps, cell)
		}
	}
}
