package signing

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	id, err := Generate(prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(prefix + ".key"); st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", st.Mode().Perm())
	}
	if _, err := Generate(prefix, nil); err == nil {
		t.Error("Generate overwrote a key")
	}
	file := filepath.Join(dir, "report.json")
	data := []byte(`{"schema": "advcheck/report/v1"}`)
	os.WriteFile(file, data, 0o644)
	s, err := Sign(file, prefix+".key")
	if err != nil || s.KeyID != id {
		t.Fatalf("Sign: %v %+v", err, s)
	}
	if _, err := Verify(file, prefix+".pub"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// Every single changed byte breaks it.
	for i := range data {
		changed := append([]byte(nil), data...)
		changed[i] ^= 1
		os.WriteFile(file, changed, 0o644)
		if _, err := Verify(file, prefix+".pub"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	os.WriteFile(file, append(data, ' '), 0o644)
	if _, err := Verify(file, prefix+".pub"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("appended byte: %v", err)
	}
	os.WriteFile(file, data, 0o644)
	// Another key does not verify it.
	other := filepath.Join(dir, "other")
	Generate(other, nil)
	if _, err := Verify(file, other+".pub"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("other key: %v", err)
	}
	// A missing file to check is ErrMalformed; a missing or malformed
	// signature does not verify; a key that cannot be read is ErrKey.
	if _, err := Verify(filepath.Join(dir, "nope"), prefix+".pub"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Verify(file, filepath.Join(dir, "nope.pub")); !errors.Is(err, ErrKey) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := Verify(file, file); !errors.Is(err, ErrKey) {
		t.Fatalf("not a key: %v", err)
	}
	os.WriteFile(file+".sig", []byte("{"), 0o644)
	if _, err := Verify(file, prefix+".pub"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("malformed signature: %v", err)
	}
	os.Remove(file + ".sig")
	if _, err := Verify(file, prefix+".pub"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is not signed") {
		t.Fatalf("no signature: %v", err)
	}
}

// A signature file whose stated digest or size is not the file's own fails,
// although its Ed25519 signature (over the bytes only) holds; a good one
// reports the digest computed from the bytes.
func TestVerifyForgedDigest(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	if _, err := Generate(prefix, nil); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "model.onnx")
	data := []byte("the model's bytes")
	os.WriteFile(file, data, 0o644)
	if _, err := Sign(file, prefix+".key"); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	v, err := Verify(file, prefix+".pub")
	if err != nil || v.SHA256 != hex.EncodeToString(sum[:]) || v.Bytes != int64(len(data)) {
		t.Fatalf("Verify: %+v %v", v, err)
	}
	good, _ := os.ReadFile(file + ".sig")
	for _, c := range []struct{ name, from, to string }{
		{"forged digest", hex.EncodeToString(sum[:]), strings.Repeat("0", 64)},
		{"forged size", `"file_bytes": 17`, `"file_bytes": 1`},
	} {
		forged := strings.Replace(string(good), c.from, c.to, 1)
		if forged == string(good) {
			t.Fatalf("%s: nothing replaced in %s", c.name, good)
		}
		os.WriteFile(file+".sig", []byte(forged), 0o644)
		_, err := Verify(file, prefix+".pub")
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), hex.EncodeToString(sum[:])) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
