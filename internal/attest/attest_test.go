package attest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/dsse"
	"github.com/advcheck/advcheck/reports"
)

// A report advcheck wrote (zoo:mnist-cnn, 24 samples).
const smallReport = "../../testdata/reports/sweep-small.json"

// testKey is the RFC 8032 section 7.1 TEST 1 key, under the id advcheck
// derives for it.
func testKey(t *testing.T) (ed25519.PrivateKey, dsse.Key) {
	t.Helper()
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return priv, dsse.Key{ID: hex.EncodeToString(sum[:8]), Public: pub}
}

func readReport(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(smallReport)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// statementOf decodes the Statement of a bundle line, as a JSON tree.
func statementOf(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var e dsse.Envelope
	if err := json.Unmarshal(line, &e); err != nil {
		t.Fatal(err)
	}
	body, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// resign encodes the Statement st and signs it with priv, as a key holder
// who edits an attestation would.
func resign(t *testing.T, st map[string]any, priv ed25519.PrivateKey, keyID string) []byte {
	t.Helper()
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(dsse.Sign(dsse.PayloadTypeInToto, body, priv, keyID))
	return line
}

func TestMakeVerify(t *testing.T) {
	priv, key := testKey(t)
	report := readReport(t)
	line, r, err := Make(report, priv, key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
		t.Fatalf("not one line: %q…", line[:80])
	}
	// The Statement is the one the in-toto specification describes.
	st := statementOf(t, line)
	var want map[string]any
	json.Unmarshal(report, &want)
	if st["_type"] != "https://in-toto.io/Statement/v1" || st["predicateType"] != "https://advcheck.dev/report/v1" {
		t.Errorf("_type %v, predicateType %v", st["_type"], st["predicateType"])
	}
	subj, _ := json.Marshal(st["subject"])
	if string(subj) != `[{"digest":{"sha256":"46f612026d4dbe8ba5316641272b72c27cd96687b4932c08b5b9b47d8045fda0"},"name":"zoo:mnist-cnn"}]` {
		t.Errorf("subject %s", subj)
	}
	got, _ := json.Marshal(st["predicate"])
	wantB, _ := json.Marshal(want)
	if !bytes.Equal(got, wantB) {
		t.Error("the predicate is not the report")
	}
	found, err := Verify(line, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Line != 1 || found[0].KeyID != key.ID || found[0].SHA256() != r.Model.SHA256 ||
		found[0].Subject.Name != "zoo:mnist-cnn" || found[0].Report.Clean.NCorrect != r.Clean.NCorrect {
		t.Fatalf("Verify = %+v", found)
	}
	// Ed25519 is deterministic: the same report and key give the same bytes.
	again, _, _ := Make(report, priv, key.ID)
	if !bytes.Equal(line, again) {
		t.Error("Make is not deterministic")
	}
}

// In a bundle, lines that are not advcheck attestations signed by the key
// are passed over, in any order; blank lines are allowed.
func TestVerifyBundle(t *testing.T) {
	priv, key := testKey(t)
	line, _, err := Make(readReport(t), priv, key.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	foreign, _ := json.Marshal(dsse.Sign("application/vnd.in-toto.provenance+json", []byte(`{}`), otherPriv, "x"))
	bundle := bytes.Join([][]byte{foreign, []byte("not json"), {}, line}, []byte("\n"))
	found, err := Verify(bundle, key)
	if err != nil || len(found) != 1 || found[0].Line != 4 {
		t.Fatalf("Verify = %+v, %v", found, err)
	}
	found, err = Verify(append(line, line...), key)
	if err != nil || len(found) != 2 || found[1].Line != 2 {
		t.Fatalf("two attestations: %+v, %v", found, err)
	}
	_, err = Verify(bytes.Join([][]byte{foreign, []byte("not json")}, []byte("\n")), key)
	if !errors.Is(err, ErrNotAttested) || !strings.Contains(err.Error(), "line 1: envelope does not verify: it is signed by key") ||
		!strings.Contains(err.Error(), "line 2: envelope does not verify: not a DSSE envelope") {
		t.Errorf("no attestation: %v", err)
	}
	if _, err := Verify([]byte("\n\n"), key); !errors.Is(err, ErrNotAttested) || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty bundle: %v", err)
	}
}

// Every change to an attestation is refused: without the key it no longer
// verifies (ErrNotAttested); with the key, an attestation whose subject is
// not its report's model, or whose report does not verify, is bad
// (ErrBadAttestation).
func TestVerifyTampered(t *testing.T) {
	priv, key := testKey(t)
	line, _, err := Make(readReport(t), priv, key.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	envelope := func(f func(e map[string]any)) []byte {
		var e map[string]any
		json.Unmarshal(line, &e)
		f(e)
		b, _ := json.Marshal(e)
		return b
	}
	signed := func(f func(st map[string]any)) []byte {
		st := statementOf(t, line)
		f(st)
		return resign(t, st, priv, key.ID)
	}
	subject := func(st map[string]any) map[string]any { return st["subject"].([]any)[0].(map[string]any) }
	for _, c := range []struct {
		name string
		line []byte
		kind error
		say  string
	}{
		{"payload byte changed", envelope(func(e map[string]any) {
			b, _ := base64.StdEncoding.DecodeString(e["payload"].(string))
			b[bytes.Index(b, []byte(`"n_correct":`))+12] ^= 1
			e["payload"] = base64.StdEncoding.EncodeToString(b)
		}), ErrNotAttested, "no signature is valid for key " + key.ID},
		{"payload type changed", envelope(func(e map[string]any) { e["payloadType"] = "application/vnd.in-toto.advcheck+json" }),
			ErrNotAttested, "no signature is valid"},
		{"signed by another key", func() []byte {
			b, _ := json.Marshal(dsse.Sign(dsse.PayloadTypeInToto, []byte(`{}`), otherPriv, key.ID))
			return b
		}(), ErrNotAttested, "no signature is valid"},
		{"keyid of another key", envelope(func(e map[string]any) { e["signatures"].([]any)[0].(map[string]any)["keyid"] = "0123456789abcdef" }),
			ErrNotAttested, `signed by key "0123456789abcdef", not by ` + key.ID},
		{"payload not base64", envelope(func(e map[string]any) { e["payload"] = "?" + e["payload"].(string)[1:] }),
			ErrNotAttested, "payload is not base64"},
		{"signature not base64", envelope(func(e map[string]any) { e["signatures"].([]any)[0].(map[string]any)["sig"] = "!!" }),
			ErrNotAttested, "signature 1 is not base64"},
		{"envelope truncated", line[:len(line)/2], ErrNotAttested, "not a DSSE envelope"},
		{"no signatures", envelope(func(e map[string]any) { e["signatures"] = []any{} }), ErrNotAttested, "no signatures"},
		{"payload not JSON, signed", func() []byte {
			b, _ := json.Marshal(dsse.Sign(dsse.PayloadTypeInToto, []byte(`{"_type": `), priv, key.ID))
			return b
		}(), ErrNotAttested, "the payload is not an in-toto Statement"},
		{"Statement v0.1, signed", signed(func(st map[string]any) { st["_type"] = "https://in-toto.io/Statement/v0.1" }),
			ErrNotAttested, `Statement type "https://in-toto.io/Statement/v0.1"`},
		{"another predicate type, signed", signed(func(st map[string]any) { st["predicateType"] = "https://slsa.dev/provenance/v1" }),
			ErrNotAttested, `predicate type "https://slsa.dev/provenance/v1"`},
		{"subject digest edited, signed", signed(func(st map[string]any) { subject(st)["digest"] = map[string]any{"sha256": strings.Repeat("ab", 32)} }),
			ErrBadAttestation, "the subject's sha256 abab"},
		{"subject digest algorithm added, signed", signed(func(st map[string]any) { subject(st)["digest"].(map[string]any)["sha512"] = "00" }),
			ErrBadAttestation, "want sha256 alone"},
		{"subject renamed, signed", signed(func(st map[string]any) { subject(st)["name"] = "other.onnx" }),
			ErrBadAttestation, `the subject is named "other.onnx"`},
		{"second subject, signed", signed(func(st map[string]any) { st["subject"] = append(st["subject"].([]any), subject(st)) }),
			ErrBadAttestation, "2 subjects"},
		{"report accuracy edited, signed", signed(func(st map[string]any) {
			st["predicate"].(map[string]any)["results"].([]any)[1].(map[string]any)["accuracy"] = 1.0
		}), reports.ErrBadReport, "results[1] (fgsm at linf eps 0.1).accuracy is 1 but the per-sample outcomes give 0.875"},
		{"report model.sha256 and subject edited together, signed", signed(func(st map[string]any) {
			st["predicate"].(map[string]any)["model"].(map[string]any)["sha256"] = strings.Repeat("ab", 32)
			subject(st)["digest"] = map[string]any{"sha256": strings.Repeat("ab", 32)}
		}), nil, ""},
		{"predicate not a report, signed", signed(func(st map[string]any) { st["predicate"] = map[string]any{} }),
			ErrBadAttestation, `schema ""`},
	} {
		found, err := Verify(c.line, key)
		switch {
		case c.kind == nil:
			// The report cannot tell which model it is about: the key vouches
			// for both digests, and verify --model is what checks the file.
			if err != nil || found[0].SHA256() != strings.Repeat("ab", 32) {
				t.Errorf("%s: %+v %v", c.name, found, err)
			}
		case !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.say):
			t.Errorf("%s: %v; want %v saying %q", c.name, err, c.kind, c.say)
		case errors.Is(c.kind, reports.ErrBadReport) && !errors.Is(err, ErrBadAttestation):
			t.Errorf("%s: %v is not ErrBadAttestation", c.name, err)
		}
	}
}

// Only a report that verifies is attested.
func TestMakeRefusesBadReports(t *testing.T) {
	priv, key := testKey(t)
	report := readReport(t)
	edited := bytes.Replace(report, []byte(`"n_correct": 21`), []byte(`"n_correct": 24`), 1)
	if bytes.Equal(edited, report) {
		t.Fatal("the edit did not apply")
	}
	for name, b := range map[string][]byte{"edited": edited, "truncated": report[:100], "not a report": []byte(`{"a": 1}`)} {
		if line, _, err := Make(b, priv, key.ID); !errors.Is(err, reports.ErrBadReport) || line != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
