package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/textsafe"
)

// keygen, sign and verify print the paths they were given with control
// characters escaped, as every other output does: a file name holding an
// escape sequence, a carriage return or a bell must not act on the terminal
// or overwrite the "signature OK" line. Before, they were printed raw.
func TestSignVerifyEscapePaths(t *testing.T) {
	weird := filepath.Join(t.TempDir(), "x\x1b[31m\rred\x07")
	if err := os.Mkdir(weird, 0o755); err != nil {
		t.Fatal(err)
	}
	raw := func(what, s string) {
		t.Helper()
		if i := strings.IndexAny(s, "\x1b\r\x07"); i >= 0 {
			t.Errorf("%s prints a raw control character: %q", what, s)
		}
	}
	key := filepath.Join(weird, "k\x1b]0;title\x07")
	code, out, errs := advcheck(t, "keygen", "--out", key)
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errs)
	}
	raw("keygen", out)
	if want := "private key " + textsafe.Line(key) + ".key"; !strings.Contains(out, want) {
		t.Errorf("keygen says %q; want %q", out, want)
	}

	rep := filepath.Join(weird, "r\r.json")
	if code, _, errs := advcheck(t, "sweep", "--limit", "4", "--attack", "fgsm", "--eps", "0,0.1", "--checks=false", "--json", rep, "-q"); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	// A group-readable key draws a warning that names it.
	if err := os.Chmod(key+".key", 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = advcheck(t, "sign", rep, "--key", key+".key")
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, errs)
	}
	raw("sign", out)
	raw("sign's warning", errs)
	if want := "signed " + textsafe.Line(rep) + " "; !strings.HasPrefix(out, want) || !strings.Contains(out, textsafe.Line(rep)+".sig") {
		t.Errorf("sign says %q; want it to start %q and name the .sig", out, want)
	}
	if !strings.Contains(errs, "UNPROTECTED PRIVATE KEY FILE: "+textsafe.Line(key)+".key") {
		t.Errorf("sign's warning: %q", errs)
	}

	// verify --model and --data re-hash files under the same folder.
	model := filepath.Join(weird, "m\x1b[2J.onnx")
	copyFile(t, "../../models/zoo/mnist-cnn.onnx", model)
	images, labels := filepath.Join(weird, "i.gz"), filepath.Join(weird, "l.gz")
	copyFile(t, "../../datasets/mnistsample/t10k-1000-images-idx3-ubyte.gz", images)
	copyFile(t, "../../datasets/mnistsample/t10k-1000-labels-idx1-ubyte.gz", labels)
	data := "idx:" + images + "," + labels
	code, out, errs = advcheck(t, "verify", rep, "--pub", key+".pub", "--model", model, "--data", data)
	if code != 0 {
		t.Fatalf("verify: exit %d: %s", code, errs)
	}
	raw("verify", out)
	for _, want := range []string{"signature OK: " + textsafe.Line(rep) + " ", "model OK: " + textsafe.Line(model) + " ", "data OK: " + textsafe.Line(data) + " "} {
		if !strings.Contains(out, want) {
			t.Errorf("verify says %q; want %q", out, want)
		}
	}

	// The same for a report signed as an in-toto attestation.
	code, out, errs = advcheck(t, "sign", rep, "--key", key+".key", "--attestation")
	if code != 0 {
		t.Fatalf("sign --attestation: exit %d: %s", code, errs)
	}
	raw("sign --attestation", out)
	raw("sign --attestation's warning", errs)
	bundle := rep + ".intoto.jsonl"
	if want := "attested " + textsafe.Line(rep) + ": "; !strings.HasPrefix(out, want) || !strings.Contains(out, textsafe.Line(bundle)) {
		t.Errorf("sign --attestation says %q; want it to start %q and name the bundle", out, want)
	}
	code, out, errs = advcheck(t, "verify", bundle, "--pub", key+".pub", "--model", model)
	if code != 0 {
		t.Fatalf("verify the attestation: exit %d: %s", code, errs)
	}
	raw("verify of an attestation", out)
	for _, want := range []string{"attestation OK: " + textsafe.Line(bundle) + " line 1", "model OK: " + textsafe.Line(model) + " "} {
		if !strings.Contains(out, want) {
			t.Errorf("verify says %q; want %q", out, want)
		}
	}
}
