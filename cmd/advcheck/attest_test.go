package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/advcheck/advcheck/internal/dsse"
	"github.com/advcheck/advcheck/internal/signing"
)

// attestFixture signs a copy of smallReport as an attestation with a new
// key and returns the directory, the key prefix and the bundle's path.
func attestFixture(t *testing.T) (dir, key, bundle string) {
	t.Helper()
	dir = t.TempDir()
	key = filepath.Join(dir, "k")
	keygen(t, key)
	rep := filepath.Join(dir, "report.json")
	os.WriteFile(rep, []byte(mustRead(t, smallReport)), 0o644)
	code, out, errs := advcheck(t, "sign", rep, "--key", key+".key", "--attestation")
	bundle = rep + ".intoto.jsonl"
	if code != 0 || errs != "" || !strings.Contains(out, "attested "+rep+": subject zoo:mnist-cnn (sha256 "+smallModelSHA+"), predicate https://advcheck.dev/report/v1") {
		t.Fatalf("sign --attestation: exit %d, %q %q", code, out, errs)
	}
	return dir, key, bundle
}

// The SHA-256 of zoo:mnist-cnn, the model of smallReport.
const smallModelSHA = "46f612026d4dbe8ba5316641272b72c27cd96687b4932c08b5b9b47d8045fda0"

// sign --attestation then verify: exit 0, printing the subject and the key;
// --model checks the model file against the subject.
func TestAttestationRoundTrip(t *testing.T) {
	dir, key, bundle := attestFixture(t)
	pub, err := signing.ReadPublicKey(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	id := pub.KeyID
	code, out, errs := advcheck(t, "verify", bundle, "--pub", key+".pub", "--model", "zoo:mnist-cnn")
	want := "attestation OK: " + bundle + " line 1: in-toto Statement, predicate https://advcheck.dev/report/v1, subject zoo:mnist-cnn (sha256 " + smallModelSHA + "), signed by key " + id + "\n" +
		"model OK: zoo:mnist-cnn matches the attested subject (sha256 " + smallModelSHA + ")\n"
	if code != 0 || out != want || errs != "" {
		t.Fatalf("verify: exit %d\nstdout %q\nwant   %q\nstderr %q", code, out, want, errs)
	}
	// --data re-hashes the data and compares it with the attested report's.
	code, out, errs = advcheck(t, "verify", bundle, "--pub", key+".pub", "--data", "mnist-sample")
	if code != 0 || !strings.Contains(out, "data OK: mnist-sample matches the report (decoded sha256 ") {
		t.Errorf("verify --data: exit %d, %q %q", code, out, errs)
	}
	// Another model than the subject fails the check.
	expect(t, 1, "line 1 attests model sha256 "+smallModelSHA+"; zoo:mnist-mlp has sha256", "verify", bundle, "--pub", key+".pub", "--model", "zoo:mnist-mlp")
	// --out names the file; a name without the in-toto suffix needs
	// verify --attestation.
	other := filepath.Join(dir, "att.json")
	if code, _, errs := advcheck(t, "sign", smallReport, "--key", key+".key", "--attestation", "--out", other); code != 0 {
		t.Fatalf("sign --out: exit %d %s", code, errs)
	}
	if mustRead(t, other) != mustRead(t, bundle) {
		t.Error("--out wrote other bytes than the default name")
	}
	expect(t, 0, "", "verify", other, "--pub", key+".pub", "--attestation")
	expect(t, 1, "att.json is not signed", "verify", other, "--pub", key+".pub")
	// Usage and input errors.
	expect(t, 2, "--out is for --attestation", "sign", smallReport, "--key", key+".key", "--out", other)
	expect(t, 2, "is the report itself", "sign", smallReport, "--key", key+".key", "--attestation", "--out", smallReport)
	expect(t, 2, "--key: bad key", "sign", smallReport, "--key", filepath.Join(dir, "nope.key"), "--attestation")
	expect(t, 2, "--pub: bad key", "verify", bundle, "--pub", filepath.Join(dir, "nope.pub"))
	expect(t, 3, "no such file", "verify", filepath.Join(dir, "nope.intoto.jsonl"), "--pub", key+".pub")
	expect(t, 3, "bad report: not JSON", "sign", "../../testdata/models/mlp.onnx", "--key", key+".key", "--attestation", "--out", filepath.Join(dir, "m.intoto.jsonl"))
	// A FIFO is refused, not waited on.
	fifo := filepath.Join(dir, "fifo.intoto.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, 3, "is not a regular file", "verify", fifo, "--pub", key+".pub")
	expect(t, 3, "is not a regular file", "sign", fifo, "--key", key+".key", "--attestation", "--out", filepath.Join(dir, "f.intoto.jsonl"))
	bad := filepath.Join(dir, "bad.json")
	tamperJSON(t, smallReport, bad, func(v map[string]any) { jsonObj(v, "results", 1)["accuracy"] = 1.0 })
	expect(t, 3, "results[1] (fgsm at linf eps 0.1).accuracy is 1 but the per-sample outcomes give 0.875", "sign", bad, "--key", key+".key", "--attestation")
	if _, err := os.Stat(bad + ".intoto.jsonl"); err == nil {
		t.Error("an attestation was written for a report that does not verify")
	}
}

// Attestations changed after signing are refused: without the key (exit 1,
// as for a detached .sig), or re-signed with the key but not holding
// together (exit 3, as for a report whose figures do not follow).
func TestAttestationTampered(t *testing.T) {
	dir, key, bundle := attestFixture(t)
	line := []byte(mustRead(t, bundle))
	priv, id, err := signing.ReadPrivateKey(key + ".key")
	if err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(dir, "other")
	keygen(t, otherKey)
	otherPriv, _, _ := signing.ReadPrivateKey(otherKey + ".key")

	envelope := func(f func(e map[string]any)) []byte {
		var e map[string]any
		json.Unmarshal(line, &e)
		f(e)
		b, _ := json.Marshal(e)
		return b
	}
	statement := func() (map[string]any, []byte) {
		var e dsse.Envelope
		json.Unmarshal(line, &e)
		body, _ := base64.StdEncoding.DecodeString(e.Payload)
		var st map[string]any
		json.Unmarshal(body, &st)
		return st, body
	}
	// resigned edits the Statement and signs it again with priv.
	resigned := func(priv []byte, f func(st map[string]any)) []byte {
		st, _ := statement()
		f(st)
		body, _ := json.Marshal(st)
		b, _ := json.Marshal(dsse.Sign(dsse.PayloadTypeInToto, body, priv, id))
		return b
	}
	subject := func(st map[string]any) map[string]any { return st["subject"].([]any)[0].(map[string]any) }
	zeros := strings.Repeat("0", 64)
	for _, c := range []struct {
		name string
		line []byte
		code int
		say  string
	}{
		{"payload byte changed", envelope(func(e map[string]any) {
			_, body := statement()
			i := bytes.Index(body, []byte(`"n_correct":21`)) + len(`"n_correct":2`)
			body[i] = '4'
			e["payload"] = base64.StdEncoding.EncodeToString(body)
		}), 1, "no signature is valid for key " + id + " over its payload and payload type"},
		{"payloadType changed", envelope(func(e map[string]any) { e["payloadType"] = "application/json" }), 1, "no signature is valid for key " + id},
		{"signed by another key", resigned(otherPriv, func(map[string]any) {}), 1, "no signature is valid for key " + id},
		{"keyid of another key", envelope(func(e map[string]any) { e["signatures"].([]any)[0].(map[string]any)["keyid"] = "0123456789abcdef" }),
			1, `it is signed by key "0123456789abcdef", not by ` + id},
		{"payload not base64", envelope(func(e map[string]any) { e["payload"] = "*" + e["payload"].(string) }), 1, "payload is not base64"},
		{"signature not base64", envelope(func(e map[string]any) { e["signatures"].([]any)[0].(map[string]any)["sig"] = "*" }), 1, "signature 1 is not base64"},
		{"envelope not JSON", line[:len(line)-40], 1, "not a DSSE envelope"},
		{"empty file", nil, 1, "the bundle is empty"},
		{"another predicate type, re-signed", resigned(priv, func(st map[string]any) { st["predicateType"] = "https://slsa.dev/provenance/v1" }),
			1, `predicate type "https://slsa.dev/provenance/v1", not https://advcheck.dev/report/v1`},
		{"subject digest edited, re-signed", resigned(priv, func(st map[string]any) { subject(st)["digest"] = map[string]any{"sha256": zeros} }),
			3, "bad attestation: the subject's sha256 " + zeros + " is not the attested report's model.sha256 " + smallModelSHA},
		{"subject renamed, re-signed", resigned(priv, func(st map[string]any) { subject(st)["name"] = "zoo:mnist-mlp" }),
			3, `the subject is named "zoo:mnist-mlp"; the attested report's model.path is "zoo:mnist-cnn"`},
		{"report figures edited, re-signed", resigned(priv, func(st map[string]any) {
			jsonObj(st, "predicate", "results", 1)["accuracy"] = 1.0
		}), 3, "bad attestation: the attested report: results[1] (fgsm at linf eps 0.1).accuracy is 1 but the per-sample outcomes give 0.875"},
		{"report outcome set removed, re-signed", resigned(priv, func(st map[string]any) {
			o := jsonArr(st, "predicate", "samples", "outcomes")
			jsonObj(st, "predicate", "samples")["outcomes"] = o[1:]
		}), 3, "samples.outcomes holds 7 outcome sets"},
	} {
		bad := filepath.Join(dir, "bad.intoto.jsonl")
		os.WriteFile(bad, c.line, 0o644)
		code, out, errs := advcheck(t, "verify", bad, "--pub", key+".pub")
		oneLine(t, c.name, code, errs, c.code, c.say)
		if out != "" {
			t.Errorf("%s: printed %q", c.name, out)
		}
	}
	// A bundle may hold other attestations: they are passed over.
	foreign, _ := json.Marshal(dsse.Sign("application/vnd.in-toto+json", []byte(`{"_type":"https://in-toto.io/Statement/v1"}`), otherPriv, "x"))
	mixed := filepath.Join(dir, "mixed.intoto.jsonl")
	os.WriteFile(mixed, append(append(foreign, '\n'), line...), 0o644)
	code, out, errs := advcheck(t, "verify", mixed, "--pub", key+".pub")
	if code != 0 || !strings.HasPrefix(out, "attestation OK: "+mixed+" line 2:") {
		t.Errorf("mixed bundle: exit %d, %q %q", code, out, errs)
	}
	expect(t, 1, "line 1: envelope does not verify: it is signed by key \"x\"", "verify", mixed, "--pub", otherKey+".pub")
}
