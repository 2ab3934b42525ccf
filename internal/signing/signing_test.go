package signing

import (
	"errors"
	"os"
	"path/filepath"
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
	// Missing and malformed files are ErrMalformed.
	if _, err := Verify(filepath.Join(dir, "nope"), prefix+".pub"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("missing file: %v", err)
	}
	os.WriteFile(file+".sig", []byte("{"), 0o644)
	if _, err := Verify(file, prefix+".pub"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed signature: %v", err)
	}
	if _, err := Verify(file, file); !errors.Is(err, ErrMalformed) {
		t.Fatalf("not a key: %v", err)
	}
}
