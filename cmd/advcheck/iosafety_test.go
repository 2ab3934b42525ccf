package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// advcheckWithin runs the command like advcheck, but kills it and fails the
// test if it has not ended within limit: the cases below used to hang.
func advcheckWithin(t *testing.T, limit time.Duration, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ADVCHECK_TEST_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after %v (killed); stderr %q", args, limit, errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	return path
}

func copyFile(t *testing.T, from, to string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return to
}

// A named pipe (or a device) wherever advcheck reads a file is refused at
// once with one line and the documented exit status (3 for bad input; 2 for
// a policy or a key, 1 for a signature that cannot be read, as for any
// other unusable policy, key or signature); it used to hang in open or read
// forever.
func TestNonRegularInputs(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "pipe"))
	model := copyFile(t, "../../models/zoo/mnist-cnn.onnx", filepath.Join(dir, "m.onnx"))
	mkfifo(t, model+".metadata.json")
	folder := filepath.Join(dir, "images")
	copyFile(t, "../../testdata/models/mlp.onnx", filepath.Join(dir, "ok.onnx")) // any regular file
	mkfifo(t, filepath.Join(folder, "3", "x.png"))
	mnist := filepath.Join(dir, "mnist")
	mkfifo(t, filepath.Join(mnist, "t10k-images-idx3-ubyte"))
	mkfifo(t, filepath.Join(mnist, "t10k-labels-idx1-ubyte"))
	withMapping := filepath.Join(dir, "mapped")
	mkfifo(t, filepath.Join(withMapping, "classes.json"))
	if err := os.Mkdir(filepath.Join(withMapping, "3"), 0o755); err != nil {
		t.Fatal(err)
	}
	report := "../../testdata/reports/sweep-small.json"
	policy := "../../testdata/policies/mnist-robust.yaml"
	pub := filepath.Join(dir, "k")
	if code, _, errs := advcheck(t, "keygen", "--out", pub); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errs)
	}
	signed := copyFile(t, report, filepath.Join(dir, "r.json"))
	mkfifo(t, signed+".sig")
	good := copyFile(t, report, filepath.Join(dir, "good.json"))
	if code, _, errs := advcheck(t, "sign", good, "--key", pub+".key"); code != 0 {
		t.Fatalf("sign: exit %d: %s", code, errs)
	}
	pipe := "is a named pipe, not a regular file"
	for _, c := range []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"model (inspect)", []string{"inspect", fifo}, 3, fifo + " " + pipe},
		{"model (sweep)", []string{"sweep", "--model", fifo}, 3, pipe},
		{"model /dev/zero", []string{"inspect", "/dev/zero"}, 3, "/dev/zero is a character device, not a regular file"},
		{"model directory", []string{"inspect", dir}, 3, "is a directory, not a regular file"},
		{"metadata sidecar", []string{"sweep", "--model", model, "--limit", "2"}, 3, model + ".metadata.json " + pipe},
		{"folder image", []string{"sweep", "--data", "folder:" + folder, "--limit", "2"}, 3, filepath.Join(folder, "3", "x.png") + " " + pipe},
		{"folder class mapping", []string{"sweep", "--data", "folder:" + withMapping, "--limit", "2"}, 3, "classes.json " + pipe},
		{"mnist dir", []string{"sweep", "--data", "mnist:" + mnist, "--limit", "2"}, 3, pipe},
		{"idx", []string{"sweep", "--data", "idx:" + fifo + "," + fifo, "--limit", "2"}, 3, pipe},
		{"npy", []string{"sweep", "--data", "npy:" + fifo + "," + fifo, "--limit", "2"}, 3, pipe},
		{"npz", []string{"sweep", "--data", "npz:" + fifo, "--limit", "2"}, 3, pipe},
		{"policy", []string{"gate", "--policy", fifo}, 2, pipe},
		{"report", []string{"report", fifo}, 3, pipe},
		{"gate --report", []string{"gate", "--policy", policy, "--report", fifo}, 3, pipe},
		{"gate --baseline", []string{"gate", "--policy", policy, "--baseline", fifo}, 3, pipe},
		{"merge", []string{"merge", fifo, "--json", filepath.Join(dir, "merged.json")}, 3, pipe},
		{"resume", []string{"sweep", "--resume", fifo, "--limit", "2"}, 3, pipe},
		{"public key", []string{"verify", report, "--pub", fifo}, 2, pipe},
		{"signature", []string{"verify", signed, "--pub", pub + ".pub"}, 1, signed + ".sig " + pipe},
		{"private key", []string{"sign", signed, "--key", fifo}, 2, pipe},
		{"signed file", []string{"sign", fifo, "--key", pub + ".key"}, 3, pipe},
		{"require-signature key", []string{"sweep", "--model", filepath.Join(dir, "ok.onnx"), "--require-signature", fifo}, 2, pipe},
		{"verify --model", []string{"verify", good, "--pub", pub + ".pub", "--model", fifo}, 3, pipe},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := advcheckWithin(t, 30*time.Second, c.args...)
			if code != c.code || !strings.Contains(errs, c.say) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Errorf("%v: exit %d, stderr %q; want exit %d, one line saying %q", c.args, code, errs, c.code, c.say)
			}
		})
	}
}

// slowData returns an npy data spec whose loading takes seconds: 1.3 million
// 28×28 float32 images (4.1 GB, just under the element limit) in a sparse
// file, all of which the data hash reads, whatever --limit says.
func slowData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	const n = 1_300_000
	images := sparseNPY(t, filepath.Join(dir, "x.npy"), "<f4", fmt.Sprintf("(%d, 1, 28, 28)", n), n*28*28*4)
	labels := sparseNPY(t, filepath.Join(dir, "y.npy"), "<i8", fmt.Sprintf("(%d,)", n), n*8)
	return "npy:" + images + "," + labels
}

// sparseNPY writes a version 1.0 .npy header and extends the file with a hole
// of size bytes of zeros.
func sparseNPY(t *testing.T, path, descr, shape string, size int64) string {
	t.Helper()
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	pad := 64 - (10+len(dict)+1)%64
	dict += strings.Repeat(" ", pad%64) + "\n"
	hdr := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), byte(len(dict)>>8))
	hdr = append(hdr, dict...)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(hdr); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(hdr)) + size); err != nil {
		t.Fatal(err)
	}
	return path
}

// --timeout counts from the start of the command, loading included: a slow
// load (4 GB of images to hash) ends with exit 124 instead of running to
// its end.
func TestTimeoutCoversLoading(t *testing.T) {
	data := slowData(t)
	start := time.Now()
	code, _, errs := advcheckWithin(t, 60*time.Second, "sweep", "--data", data,
		"--max-data-bytes", "20000000000", "--limit", "2", "--timeout", "200ms")
	if code != 124 || !strings.Contains(errs, "stopped while loading") {
		t.Errorf("exit %d after %v, stderr %q; want 124, stopped while loading", code, time.Since(start), errs)
	}
}

// SIGINT and SIGTERM stop a command that is still loading, with 130 and 143.
func TestSignalDuringLoading(t *testing.T) {
	data := slowData(t)
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "sweep", "--data", data,
			"--max-data-bytes", "20000000000", "--limit", "2")
		cmd.Env = append(os.Environ(), "ADVCHECK_TEST_MAIN=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		cmd.Process.Signal(sig)
		cmd.Wait()
		if ctx.Err() != nil {
			t.Fatalf("%v: still loading after 60 s", sig)
		}
		cancel()
		if got := cmd.ProcessState.ExitCode(); got != want || !strings.Contains(stderr.String(), "stopped while loading") {
			t.Errorf("%v: exit %d, want %d: %s", sig, got, want, stderr.String())
		}
	}
}

// Output paths are checked before any work: a named pipe or a link to one
// is refused (never replaced by a regular file), a missing or unwritable
// directory is found at once, and two outputs cannot share stdout or a
// file. Nothing is written when a check fails.
func TestOutputPathsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "pipe"))
	toFifo := filepath.Join(dir, "pipe.json")
	os.Symlink("pipe", toFifo)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	md := filepath.Join(dir, "r.md")
	quick := []string{"--limit", "8", "--attack", "fgsm", "--eps", "0,0.1", "-q", "--md", md}
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"sweep", "--json", fifo}, "is a named pipe, not a regular file"},
		{[]string{"sweep", "--junit", toFifo}, "(a link to " + fifo + ") is a named pipe"},
		{[]string{"sweep", "--html", dir}, "is a directory, not a regular file"},
		{[]string{"sweep", "--json", filepath.Join(dir, "missing", "r.json")}, "no such file or directory"},
		{[]string{"sweep", "--json", filepath.Join(file, "r.json")}, "not a directory"},
		{[]string{"sweep", "--save-adv", filepath.Join(file, "adv")}, "not a directory"},
		{[]string{"sweep", "--json", "-", "--samples", "-"}, "--json and --samples both write to stdout"},
		{[]string{"sweep", "--json", md}, "--json and --md both write to " + md},
		{[]string{"report", "../../testdata/reports/sweep-small.json", "--junit", fifo}, "is a named pipe"},
		{[]string{"merge", "../../testdata/reports/sweep-small.json", "--json", fifo}, "is a named pipe"},
		{[]string{"gate", "--policy", "../../testdata/policies/mnist-robust.yaml", "--json", fifo}, "is a named pipe"},
	} {
		args := append(append([]string(nil), c.args...), quick...)
		if c.args[0] != "sweep" {
			args = append(c.args, "--md", md)
		}
		code, _, errs := advcheckWithin(t, 60*time.Second, args...)
		if code != 2 || !strings.Contains(errs, c.say) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying %q", c.args, code, errs, c.say)
		}
		if _, err := os.Stat(md); err == nil {
			t.Errorf("%v: the run went ahead and wrote %s", c.args, md)
			os.Remove(md)
		}
		if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("%v: the named pipe was replaced", c.args)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("files left behind: %v", ents)
	}
}

// A report written to a symbolic link goes to the link's final target; the
// link stays a link.
func TestOutputThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "runs"), 0o755)
	target := filepath.Join(dir, "runs", "r1.json")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "latest.json")
	if err := os.Symlink("runs/r1.json", link); err != nil {
		t.Fatal(err)
	}
	code, _, errs := advcheckWithin(t, 120*time.Second, "report", "../../testdata/reports/sweep-small.json", "--json", link, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a file")
	}
	if r := readJSON(t, target); r["schema"] == nil {
		t.Errorf("the target does not hold the report")
	}
}

// assertPrintable fails if text holds a character that acts on a terminal
// or reorders text: a control other than newline, DEL, a C1 control, a
// bidi control, or bytes that are not UTF-8.
func assertPrintable(t *testing.T, name, text string) {
	t.Helper()
	if !utf8.ValidString(text) {
		t.Errorf("%s: not UTF-8", name)
	}
	for i, r := range text {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f {
			t.Errorf("%s: raw %U at byte %d: …%q…", name, r, i, text[max(0, i-20):min(len(text), i+20)])
			return
		}
	}
}

// Names from a model file (testdata/hostile/control_names.onnx, made by
// gen_hostile.py) and fields of a report reach every text output with their
// escape sequences, bells, carriage returns and bidi overrides escaped;
// JUnit stays well-formed XML.
func TestControlCharsInTextOutputs(t *testing.T) {
	dir := t.TempDir()
	model := copyFile(t, "../../testdata/hostile/control_names.onnx", filepath.Join(dir, "m\x1b[31m\u202e.onnx"))
	code, out, errs := advcheckWithin(t, 60*time.Second, "inspect", model)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, errs)
	}
	assertPrintable(t, "inspect", out)
	for _, want := range []string{`py\x1b[2Jtorch\u202e`, `in\x1b[31mput\x07`, `lo\x0dgits\u202e`} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect does not show %s:\n%s", want, out)
		}
	}

	code, _, errs = advcheckWithin(t, 60*time.Second, "inspect", "../../testdata/hostile/control_op.onnx")
	if code != 3 || !strings.Contains(errs, `\x1b[2J\x1b[31mEvil\x07`) {
		t.Errorf("unsupported op: exit %d, stderr %q", code, errs)
	}
	assertPrintable(t, "error line", errs)

	js, md, junit := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "r.xml")
	code, out, errs = advcheckWithin(t, 120*time.Second, "sweep", "--model", model, "--limit", "8", "--attack", "fgsm", "--eps", "0,0.1",
		"--json", js, "--md", md, "--junit", junit)
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	assertPrintable(t, "sweep table", out)
	assertPrintable(t, "sweep stderr", errs)
	assertPrintable(t, "sweep markdown", mustRead(t, md))
	assertPrintable(t, "sweep junit", mustRead(t, junit))
	assertWellFormed(t, junit)

	// A saved report is input too: put controls into the fields the
	// renderers show and render it again. Reports are checked against
	// their per-sample outcomes when read, so the attack id is changed
	// everywhere it occurs, consistently.
	r := readJSON(t, js)
	bad := "\x1b[31m\x07\r\u202e\u009b"
	r["dataset"].(map[string]any)["spec"] = "mnist" + bad
	r["model"].(map[string]any)["path"] = "m" + bad + ".onnx"
	r["model"].(map[string]any)["output_kind"] = "logits" + bad
	var rename func(v any) any
	rename = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "attack_id" && x == "fgsm" {
					v[k] = "fgsm" + bad
				} else {
					v[k] = rename(x)
				}
			}
		case []any:
			for i, x := range v {
				if x == "fgsm" {
					v[i] = "fgsm" + bad
				} else {
					v[i] = rename(x)
				}
			}
		}
		return v
	}
	rename(r)
	r["flags"] = append(r["flags"].([]any), map[string]any{"id": "id" + bad, "severity": "warning" + bad, "message": "message" + bad})
	b, _ := json.Marshal(r)
	edited := filepath.Join(dir, "edited.json")
	os.WriteFile(edited, b, 0o644)
	md2, junit2 := filepath.Join(dir, "e.md"), filepath.Join(dir, "e.xml")
	code, out, errs = advcheckWithin(t, 60*time.Second, "report", edited, "--md", md2, "--junit", junit2)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	assertPrintable(t, "report table", out)
	if !strings.Contains(out, `fgsm\x1b[31m\x07\x0d\u202e\u009b`) || !strings.Contains(out, `message\x1b[31m\x07\x0d\u202e\u009b`) {
		t.Errorf("report table does not show the escaped attack id and flag message:\n%s", out)
	}
	assertPrintable(t, "report markdown", mustRead(t, md2))
	assertPrintable(t, "report junit", mustRead(t, junit2))
	assertWellFormed(t, junit2)
}

func assertWellFormed(t *testing.T, path string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(mustRead(t, path)))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Errorf("%s: not well-formed XML: %v", path, err)
			return
		}
	}
}

// Names from an image folder (class folders, skipped files) reach the
// notes on stderr and the table with their controls escaped.
func TestControlCharsInFolderNames(t *testing.T) {
	dir := t.TempDir()
	class := filepath.Join(dir, "3\x1b[31m\u202e")
	if err := os.Mkdir(class, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 28, 28))); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(class, "a.png"), buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(class, ".junk\x07\r"), nil, 0o644)
	code, out, errs := advcheckWithin(t, 120*time.Second, "sweep", "--data", "folder:"+dir, "--attack", "fgsm", "--eps", "0,0.1", "--checks=false")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, `\x07\x0d`) || !strings.Contains(errs, `3\x1b[31m\u202e`) {
		t.Errorf("stderr does not name the skipped file and the class escaped: %s", errs)
	}
	assertPrintable(t, "stderr", errs)
	assertPrintable(t, "table", out)
}
