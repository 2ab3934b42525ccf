package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	var written map[string]any
	if err := json.Unmarshal([]byte(mustRead(t, file+".sig")), &written); err != nil ||
		written["type"] != "advcheck/signature/v2" || written["algorithm"] != "ed25519ph" {
		t.Fatalf("signature file: %v %v", written, err)
	}
	if _, err := Verify(file, prefix+".pub"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := VerifyBytes(file, data, prefix+".pub"); err != nil {
		t.Fatalf("VerifyBytes: %v", err)
	}
	// Every single changed byte breaks it.
	for i := range data {
		changed := append([]byte(nil), data...)
		changed[i] ^= 1
		os.WriteFile(file, changed, 0o644)
		if _, err := Verify(file, prefix+".pub"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "has changed since it was signed") {
			t.Fatalf("byte %d changed: %v", i, err)
		}
		if _, err := VerifyBytes(file, changed, prefix+".pub"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("byte %d changed, VerifyBytes: %v", i, err)
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
// although its Ed25519 signature (over the bytes, or their SHA-512, only)
// holds; a good one reports the digest computed from the bytes. Both formats.
func TestVerifyForgedDigest(t *testing.T) {
	for _, format := range []string{"v1", "v2"} {
		dir, prefix := newKey(t)
		file := filepath.Join(dir, "model.onnx")
		data := []byte("the model's bytes")
		os.WriteFile(file, data, 0o644)
		if format == "v1" {
			signV1(t, file, prefix+".key")
		} else if _, err := Sign(file, prefix+".key"); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		v, err := Verify(file, prefix+".pub")
		if err != nil || v.SHA256 != hex.EncodeToString(sum[:]) || v.Bytes != int64(len(data)) {
			t.Fatalf("%s: Verify: %+v %v", format, v, err)
		}
		good := mustRead(t, file+".sig")
		if !strings.Contains(good, "advcheck/signature/"+format) {
			t.Fatalf("%s: %s", format, good)
		}
		for _, c := range []struct{ name, from, to string }{
			{"forged digest", hex.EncodeToString(sum[:]), strings.Repeat("0", 64)},
			{"forged size", `"file_bytes": 17`, `"file_bytes": 1`},
		} {
			forged := strings.Replace(good, c.from, c.to, 1)
			if forged == good {
				t.Fatalf("%s: nothing replaced in %s", c.name, good)
			}
			os.WriteFile(file+".sig", []byte(forged), 0o644)
			_, err := Verify(file, prefix+".pub")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "claims SHA-256") || !strings.Contains(err.Error(), hex.EncodeToString(sum[:])) {
				t.Errorf("%s: %s: %v", format, c.name, err)
			}
			if _, err := VerifyBytes(file, data, prefix+".pub"); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %s: VerifyBytes: %v", format, c.name, err)
			}
		}
	}
}

// signV1 signs file as Sign did before the current format: plain Ed25519
// over the bytes, held whole.
func signV1(t *testing.T, file, keyPath string) {
	t.Helper()
	priv, id, err := ReadPrivateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	s := &Signature{Type: "advcheck/signature/v1", Algorithm: "ed25519", KeyID: id, FileSHA256: hex.EncodeToString(sum[:]),
		FileBytes: int64(len(data)), Signature: ed25519.Sign(priv, data)}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(SigPath(file), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A signature of the first format, written by advcheck sign before the
// current one (testdata/README.md), still verifies, from the file and from
// bytes in memory; a changed byte still breaks it.
func TestVerifyV1Fixture(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "r.json")
	data := []byte(mustRead(t, "testdata/v1-report.json"))
	os.WriteFile(file, data, 0o644)
	os.WriteFile(file+".sig", []byte(mustRead(t, "testdata/v1-report.json.sig")), 0o644)
	pub := "testdata/v1.pub"
	sum := sha256.Sum256(data)
	for name, verify := range map[string]func([]byte) (*Verified, error){
		"Verify":      func(b []byte) (*Verified, error) { os.WriteFile(file, b, 0o644); return Verify(file, pub) },
		"VerifyBytes": func(b []byte) (*Verified, error) { return VerifyBytes(file, b, pub) },
	} {
		v, err := verify(data)
		if err != nil || v.KeyID != "2a2115ebd62022cc" || v.SHA256 != hex.EncodeToString(sum[:]) || v.Bytes != int64(len(data)) {
			t.Fatalf("%s: %+v %v", name, v, err)
		}
		for i := range data {
			changed := bytes.Clone(data)
			changed[i] ^= 0x20
			if _, err := verify(changed); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "has changed since it was signed") {
				t.Fatalf("%s: byte %d changed: %v", name, i, err)
			}
		}
		os.WriteFile(file, data, 0o644)
	}
}

// The type and the algorithm of a signature go together: a v2 signature
// relabelled v1, or a v1 relabelled v2, is checked as what it claims to be
// and fails; a label of one format with the algorithm of the other is not an
// advcheck signature.
func TestVerifyRelabelled(t *testing.T) {
	dir, prefix := newKey(t)
	file := filepath.Join(dir, "model.onnx")
	data := []byte("the model's bytes")
	os.WriteFile(file, data, 0o644)
	const v1, v2 = `"type": "advcheck/signature/v1"`, `"type": "advcheck/signature/v2"`
	const ed, ph = `"algorithm": "ed25519"`, `"algorithm": "ed25519ph"`
	for _, c := range []struct {
		name     string
		v1       bool // sign with the first format
		from, to []string
		say      string
	}{
		{"v2 relabelled v1", false, []string{v2, ph}, []string{v1, ed}, "is not valid for key"},
		{"v1 relabelled v2", true, []string{v1, ed}, []string{v2, ph}, "is not valid for key"},
		{"v2 type, v1 algorithm", false, []string{ph}, []string{ed}, "is not an advcheck signature"},
		{"v1 type, v2 algorithm", true, []string{ed}, []string{ph}, "is not an advcheck signature"},
		{"v2 algorithm, v1 type", false, []string{v2}, []string{v1}, "is not an advcheck signature"},
		{"unknown version", false, []string{v2}, []string{`"type": "advcheck/signature/v3"`}, "is not an advcheck signature"},
	} {
		if c.v1 {
			signV1(t, file, prefix+".key")
		} else if _, err := Sign(file, prefix+".key"); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(file, prefix+".pub"); err != nil {
			t.Fatalf("%s: before relabelling: %v", c.name, err)
		}
		sig := mustRead(t, file+".sig")
		for i := range c.from {
			if !strings.Contains(sig, c.from[i]) {
				t.Fatalf("%s: no %s in %s", c.name, c.from[i], sig)
			}
			sig = strings.Replace(sig, c.from[i], c.to[i], 1)
		}
		os.WriteFile(file+".sig", []byte(sig), 0o644)
		if _, err := Verify(file, prefix+".pub"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: Verify: %v", c.name, err)
		}
		if _, err := VerifyBytes(file, data, prefix+".pub"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: VerifyBytes: %v", c.name, err)
		}
	}
}

// Sign makes RFC 8032 Ed25519ph signatures, so that any implementation of
// it verifies them: the signature of a file holding "abc" with the key of
// RFC 8032 section 7.3 is the one the RFC gives.
func TestSignRFC8032Ed25519ph(t *testing.T) {
	dir := t.TempDir()
	seed, _ := hex.DecodeString("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
	want, _ := hex.DecodeString("98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41" +
		"31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406")
	id := KeyID(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	kb, _ := json.Marshal(privateKey{Type: keyType, KeyID: id, Seed: seed})
	key := filepath.Join(dir, "rfc.key")
	os.WriteFile(key, kb, 0o600)
	file := filepath.Join(dir, "abc")
	os.WriteFile(file, []byte("abc"), 0o644)
	s, err := Sign(file, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Signature, want) {
		t.Errorf("signature %x, RFC 8032 7.3 gives %x", s.Signature, want)
	}
}

// Files over MaxSignedBytes are refused before they are read (a sparse file
// of that size costs nothing): Sign with an error naming the limit, Verify
// with ErrMalformed.
func TestSignedSizeLimit(t *testing.T) {
	dir, prefix := newKey(t)
	file := filepath.Join(dir, "huge")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSignedBytes + 1); err != nil {
		t.Skipf("no sparse file of %d bytes here: %v", int64(MaxSignedBytes+1), err)
	}
	f.Close()
	if _, err := Sign(file, prefix+".key"); err == nil || !strings.Contains(err.Error(), "is larger than 4294967296 bytes") {
		t.Errorf("Sign: %v", err)
	}
	if _, err := os.Stat(file + ".sig"); !os.IsNotExist(err) {
		t.Errorf("a signature was written: %v", err)
	}
	if _, err := Verify(file, prefix+".pub"); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "is larger than") {
		t.Errorf("Verify: %v", err)
	}
}

// newKey makes a key pair in a new temporary directory and returns the
// directory and the keys' prefix.
func newKey(t *testing.T) (dir, prefix string) {
	t.Helper()
	dir = t.TempDir()
	prefix = filepath.Join(dir, "k")
	if _, err := Generate(prefix, nil); err != nil {
		t.Fatal(err)
	}
	return dir, prefix
}
