package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// sign and verify read a file once, as a stream: their peak memory is the
// same for a file of 1 KiB and one of 256 MiB (sparse, so that it costs no
// disk), and small. Reading the file whole, as plain Ed25519 needs, would add
// its 256 MiB.
func TestSignVerifyMemoryIndependentOfSize(t *testing.T) {
	const mib = 1 << 20
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	if code, _, errs := advcheck(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errs)
	}
	sizes := map[string]int64{"small": 1 << 10, "large": 256 * mib}
	for name, size := range sizes {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("advcheck"), size-8); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	debug.FreeOSMemory()
	peak := map[string]int64{}
	for _, name := range []string{"small", "large"} {
		file := filepath.Join(dir, name)
		for _, args := range [][]string{{"sign", file, "--key", key + ".key"}, {"verify", file, "--pub", key + ".pub"}} {
			code, errs, rss := advcheckRSS(t, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, errs)
			}
			t.Logf("%s %s (%d bytes): peak RSS %.1f MiB", args[0], name, sizes[name], float64(rss)/mib)
			peak[args[0]+" "+name] = rss
		}
		if sig, _ := os.ReadFile(file + ".sig"); !strings.Contains(string(sig), `"type": "advcheck/signature/v2"`) {
			t.Errorf("%s.sig is not of the current format: %s", name, sig)
		}
	}
	for _, cmd := range []string{"sign", "verify"} {
		small, large := peak[cmd+" small"], peak[cmd+" large"]
		if large > small+16*mib || large > 64*mib {
			t.Errorf("%s: peak RSS %.1f MiB for 256 MiB, %.1f MiB for 1 KiB: the file is held in memory", cmd, float64(large)/mib, float64(small)/mib)
		}
	}
}

// A signature of the first format (plain Ed25519 over the bytes, written by
// sign before the current format) still verifies, with the same output line,
// and a changed byte still breaks it (exit 1).
func TestVerifyFirstFormatSignature(t *testing.T) {
	dir := t.TempDir()
	fixtures := "../../internal/signing/testdata/"
	file := copyFile(t, fixtures+"v1-report.json", filepath.Join(dir, "r.json"))
	copyFile(t, fixtures+"v1-report.json.sig", file+".sig")
	pub := fixtures + "v1.pub"
	code, out, errs := advcheck(t, "verify", file, "--pub", pub)
	want := "signature OK: " + file + " (sha256 49b76660bfdcbd55a240f138058a4a6b8812f543bd0e73e5c262dbf5a68de030, 78 bytes) signed by key 2a2115ebd62022cc\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stdout %q, stderr %q; want %q", code, out, errs, want)
	}
	b, _ := os.ReadFile(file)
	b[10] ^= 1
	os.WriteFile(file, b, 0o644)
	expect(t, 1, "has changed since it was signed", "verify", file, "--pub", pub)
}
