package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallPolicy is a policy quick enough to run in a test; gateFixture runs
// it once and keeps the report, which then matches the policy exactly.
const smallPolicy = `apiVersion: advcheck/policy/v1
model: zoo:mnist-cnn
data: {spec: mnist-sample, limit: 16}
seed: 3
attacks:
  - fgsm
  - name: pgd
    params: {steps: 3}
eps: {linf: [0, 0.1]}
requirements:
  - min_clean_accuracy: 0.5
  - min_accuracy: 0
    attack: pgd
    eps: 0.1
`

// gateFixture writes smallPolicy and the report its gate run writes, and
// returns the directory, the policy and the report.
func gateFixture(t *testing.T) (dir, policy, report string) {
	t.Helper()
	dir = t.TempDir()
	policy, report = filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "report.json")
	if err := os.WriteFile(policy, []byte(smallPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := advcheck(t, "gate", "--policy", policy, "--json", report, "-q"); code != 0 {
		t.Fatalf("gate: exit %d: %s", code, errs)
	}
	return dir, policy, report
}

// expect runs advcheck and checks the exit status and that stderr is one
// line holding say (nothing at all when say is "").
func expect(t *testing.T, code int, say string, args ...string) {
	t.Helper()
	got, _, errs := advcheck(t, args...)
	if got != code || !strings.Contains(errs, say) || (say == "" && errs != "") {
		t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", args, got, errs, code, say)
	}
	if strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
		t.Errorf("%v: stderr is not one line: %q", args, errs)
	}
}

func keygen(t *testing.T, prefix string) {
	t.Helper()
	if code, _, errs := advcheck(t, "keygen", "--out", prefix); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errs)
	}
}

// --require-signature is honoured by gate --report (and its baseline),
// report and merge: a key that cannot be read is exit 2, an unsigned,
// wrongly signed or changed report exit 1, and only the exact bytes that
// were signed pass.
func TestRequireSignatureOnReports(t *testing.T) {
	dir, policy, rep := gateFixture(t)
	key, other := filepath.Join(dir, "k"), filepath.Join(dir, "other")
	keygen(t, key)
	keygen(t, other)
	pub := key + ".pub"
	merged := filepath.Join(dir, "merged.json")
	gate := []string{"gate", "--policy", policy, "--report", rep, "-q", "--require-signature"}
	report := []string{"report", rep, "-q", "--require-signature"}
	merge := []string{"merge", rep, "--json", merged, "-q", "--require-signature"}

	for _, cmd := range [][]string{gate, report, merge} {
		expect(t, 2, "nope.pub: no such file", append(cmd, filepath.Join(dir, "nope.pub"))...)
		expect(t, 2, "bad key", append(cmd, policy)...)
		expect(t, 1, "report.json is not signed", append(cmd, pub)...)
	}
	if code, _, errs := advcheck(t, "sign", rep, "--key", key+".key"); code != 0 {
		t.Fatalf("sign: exit %d: %s", code, errs)
	}
	for _, cmd := range [][]string{gate, report, merge} {
		expect(t, 0, "", append(cmd, pub)...)
		expect(t, 1, "was signed by key", append(cmd, other+".pub")...)
	}
	// The baseline is a report the verdict depends on: it is checked too.
	base := filepath.Join(dir, "base.json")
	os.WriteFile(base, []byte(mustRead(t, rep)), 0o644)
	expect(t, 1, "--baseline: --require-signature: signature does not verify: "+base+" is not signed", append([]string{"gate", "--policy", policy, "--report", rep, "--baseline", base, "-q", "--require-signature"}, pub)...)

	// One byte more (still valid JSON) and the signature no longer holds.
	os.WriteFile(rep, []byte(mustRead(t, rep)+" "), 0o644)
	for _, cmd := range [][]string{gate, report, merge} {
		expect(t, 1, "changed since it was signed", append(cmd, pub)...)
	}
	if _, err := os.Stat(merged); err != nil {
		t.Errorf("the merge with a good signature wrote nothing: %v", err)
	}
}

// verify prints the SHA-256 of the file's bytes, and a signature file that
// claims another one fails even though its Ed25519 signature holds.
func TestVerifyShowsComputedDigest(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	keygen(t, key)
	file := filepath.Join(dir, "model.onnx")
	b, _ := os.ReadFile("../../testdata/models/mlp.onnx")
	os.WriteFile(file, b, 0o644)
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	if code, _, errs := advcheck(t, "sign", file, "--key", key+".key"); code != 0 {
		t.Fatalf("sign: exit %d: %s", code, errs)
	}
	code, out, errs := advcheck(t, "verify", file, "--pub", key+".pub")
	if code != 0 || !strings.Contains(out, "sha256 "+digest) {
		t.Fatalf("verify: exit %d, %q %q; want sha256 %s", code, out, errs, digest)
	}
	sig := mustRead(t, file+".sig")
	zeros := strings.Repeat("0", 64)
	os.WriteFile(file+".sig", []byte(strings.Replace(sig, digest, zeros, 1)), 0o644)
	code, out, errs = advcheck(t, "verify", file, "--pub", key+".pub")
	if code != 1 || strings.Contains(out, zeros) || !strings.Contains(errs, "claims SHA-256 "+zeros) || !strings.Contains(errs, "has SHA-256 "+digest) {
		t.Errorf("forged digest: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	os.WriteFile(file+".sig", []byte(sig), 0o644)
	expect(t, 2, "--pub: bad key", "verify", file, "--pub", filepath.Join(dir, "nope.pub"))
	os.Remove(file + ".sig")
	expect(t, 1, "is not signed", "verify", file, "--pub", key+".pub")
	os.WriteFile(file+".sig", []byte("{"), 0o644)
	expect(t, 1, "signature does not verify", "verify", file, "--pub", key+".pub")
}

// sign warns, as ssh does, when the private key is readable beyond its owner.
func TestSignWarnsOnExposedKey(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	keygen(t, key)
	file := filepath.Join(dir, "r.json")
	os.WriteFile(file, []byte("{}"), 0o644)
	expect(t, 0, "", "sign", file, "--key", key+".key")
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		os.Chmod(key+".key", mode)
		expect(t, 0, "UNPROTECTED PRIVATE KEY FILE", "sign", file, "--key", key+".key")
	}
	os.Chmod(key+".key", 0o600)
	expect(t, 0, "", "sign", file, "--key", key+".key")
	expect(t, 2, "--key: bad key", "sign", file, "--key", filepath.Join(dir, "nope.key"))
	expect(t, 2, "not an advcheck private key", "sign", file, "--key", key+".pub")
}

// gate --report checks that the report is the one the policy's sweep would
// write: any field the policy pins that differs is exit 3, naming the field
// and both values.
func TestGateReportMatchesPolicy(t *testing.T) {
	dir, policy, rep := gateFixture(t)
	r := readJSON(t, rep)
	modelSHA := r["model"].(map[string]any)["sha256"].(string)
	dataSHA := r["dataset"].(map[string]any)["sha256_decoded"].(string)
	other := strings.Repeat("a", 64)
	for _, c := range []struct {
		name, from, to string
		code           int
		say            string
	}{
		{"same policy", "", "", 0, ""},
		{"another model", "model: zoo:mnist-cnn", "model: zoo:mnist-cnn-adv", 3, `model.path: the policy gives "zoo:mnist-cnn-adv", the report has "zoo:mnist-cnn"`},
		{"another pinned sha256", "model: zoo:mnist-cnn", "model: {path: zoo:mnist-cnn, sha256: " + other + "}", 3, "model.sha256: the policy gives " + other + ", the report has " + modelSHA},
		{"pinned sha256, path elsewhere", "model: zoo:mnist-cnn", "model: {path: /models/cnn.onnx, sha256: " + strings.ToUpper(modelSHA) + "}", 0, ""},
		{"another data spec", "spec: mnist-sample", "spec: mnist:/data/mnist", 3, `dataset.spec: the policy gives "mnist:/data/mnist", the report has "mnist-sample"`},
		{"another pinned data sha256", "spec: mnist-sample", "spec: mnist-sample, sha256: " + other, 3, "dataset.sha256_decoded: the policy gives " + other + ", the report has " + dataSHA},
		{"pinned data sha256, spec elsewhere", "spec: mnist-sample", "spec: mnist:/data/mnist, sha256: " + dataSHA, 0, ""},
		{"another limit", "limit: 16", "limit: 8", 3, "config.limit: the policy gives 8, the report has 16"},
		{"other labels", "limit: 16", "limit: 16, labels: pred", 3, "dataset.label_source: the policy gives pred, the report has truth"},
		{"another seed", "seed: 3", "seed: 4", 3, "config.seed: the policy gives 4, the report has 3"},
		{"more pgd steps", "steps: 3", "steps: 40", 3, "config.attacks: the policy gives pgd:steps=40, the report has no pgd:steps=40 (it ran fgsm, pgd:steps=3)"},
		{"an attack fewer", "  - fgsm\n", "", 3, "config.attacks: the policy gives no fgsm, the report has fgsm as well"},
		{"an eps more", "linf: [0, 0.1]", "linf: [0, 0.1, 0.2]", 3, "config.eps: the policy gives linf 0,0.1,0.2, the report has linf 0,0.1"},
		{"another scale", "model: zoo:mnist-cnn", "model: {path: zoo:mnist-cnn, scale: 255}", 3, "model.input_contract.scale: the policy gives 255, the report has 1"},
		{"another layout", "model: zoo:mnist-cnn", "model: {path: zoo:mnist-cnn, layout: nhwc}", 3, "model.input_contract.layout: the policy gives nhwc, the report has nchw"},
		{"normalised inputs", "model: zoo:mnist-cnn", "model: {path: zoo:mnist-cnn, mean: [0.1307], std: [0.3081]}", 3, "model.input_contract.mean: the policy gives [0.1307], the report has none"},
	} {
		doc := strings.Replace(smallPolicy, c.from, c.to, 1)
		if c.from != "" && doc == smallPolicy {
			t.Fatalf("%s: %q is not in the policy", c.name, c.from)
		}
		p := filepath.Join(dir, "variant.yaml")
		os.WriteFile(p, []byte(doc), 0o644)
		code, _, errs := advcheck(t, "gate", "--policy", p, "--report", rep, "-q")
		if code != c.code || !strings.Contains(errs, c.say) || (c.say == "" && errs != "") {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", c.name, code, errs, c.code, c.say)
		}
	}

	// A shard's report is not the whole data set's; a report made without
	// the reliability checks cannot answer max_flags. The sweep with the
	// policy's settings otherwise writes a report that matches it.
	sweep := []string{"sweep", "--model", "zoo:mnist-cnn", "--data", "mnist-sample", "--limit", "16", "--seed", "3",
		"--attack", "fgsm", "--attack", "pgd:steps=3", "--eps", "linf=0,0.1", "-q"}
	part, unchecked := filepath.Join(dir, "part.json"), filepath.Join(dir, "unchecked.json")
	if code, _, errs := advcheck(t, append(sweep, "--shard", "0/2", "--json", part)...); code != 0 {
		t.Fatalf("sweep --shard: exit %d: %s", code, errs)
	}
	if code, _, errs := advcheck(t, append(sweep, "--checks=false", "--json", unchecked)...); code != 0 {
		t.Fatalf("sweep --checks=false: exit %d: %s", code, errs)
	}
	expect(t, 3, "config.shard: the policy gives the whole data set (0/1), the report has shard 0/2", "gate", "--policy", policy, "--report", part, "-q")
	expect(t, 0, "", "gate", "--policy", policy, "--report", unchecked, "-q")
	flags := filepath.Join(dir, "flags.yaml")
	os.WriteFile(flags, []byte(smallPolicy+"  - max_flags: {error: 0}\n"), 0o644)
	expect(t, 3, "samples.checks: the policy gives a max_flags requirement (line 15)", "gate", "--policy", flags, "--report", unchecked, "-q")
	expect(t, 0, "", "gate", "--policy", flags, "--report", rep, "-q")
}

// A policy that pins the decoded data's SHA-256 refuses other data before
// the sweep runs.
func TestGatePinnedDataSHA256(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.yaml")
	other := strings.Repeat("b", 64)
	os.WriteFile(p, []byte(strings.Replace(smallPolicy, "spec: mnist-sample", "spec: mnist-sample, sha256: "+other, 1)), 0o644)
	expect(t, 3, "does not match the pinned "+other, "gate", "--policy", p, "-q")
}

// Policies that a lenient reader would run differently from what they say
// end the gate with exit 2, naming the line and column.
func TestGateAmbiguousPolicy(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ from, to, say string }{
		{"params: {steps: 3}", "params:\n      steps: 40\n      steps: 1", "line 10, column 7: parameter steps is given twice"},
		{"params: {steps: 3}", `params: {steps: "1,restarts=1"}`, `line 8, column 21: parameter steps "1,restarts=1" holds ","`},
		{"    eps: 0.1\n", "    eps: 0.1\n---\napiVersion: advcheck/policy/v1\n", "line 15, column 1: a second YAML document"},
	} {
		doc := strings.Replace(smallPolicy, c.from, c.to, 1)
		if doc == smallPolicy {
			t.Fatalf("%q is not in the policy", c.from)
		}
		p := filepath.Join(dir, "p.yaml")
		os.WriteFile(p, []byte(doc), 0o644)
		expect(t, 2, c.say, "gate", "--policy", p, "-q")
	}
}
