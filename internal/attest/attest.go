// Package attest writes and checks advcheck reports as in-toto attestations:
// an in-toto Statement v1 (github.com/in-toto/attestation, spec/v1) whose
// subject is the model (its path as the report records it, and its SHA-256)
// and whose predicate is the report, in a DSSE envelope signed with an
// advcheck Ed25519 key. Envelopes are stored one per line, in-toto's bundle
// format (FILE.intoto.jsonl), so supply-chain tools can read them.
//
//	{"_type": "https://in-toto.io/Statement/v1",
//	 "subject": [{"name": "model.onnx", "digest": {"sha256": "…"}}],
//	 "predicateType": "https://advcheck.dev/report/v1",
//	 "predicate": {"schema": "advcheck/report/v1", …}}
package attest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/advcheck/advcheck/internal/dsse"
	"github.com/advcheck/advcheck/reports"
)

const (
	// StatementType is the in-toto Statement version advcheck writes and reads.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType names advcheck's report schema (reports/report-v1.schema.json):
	// the predicate is a report of schema advcheck/report/v1. Later v1.x
	// reports only add keys, so the type stays the same for them.
	PredicateType = "https://advcheck.dev/report/v1"
	// Suffix is the file name suffix of an in-toto bundle.
	Suffix = ".intoto.jsonl"
	// MaxBundleBytes bounds the bundles Verify is given: a report of the
	// largest size advcheck reads, base64-encoded, with room to spare.
	MaxBundleBytes = reports.DefaultMaxReportBytes/3*4 + 1<<20
)

// Errors. ErrNotAttested means no line of a bundle is an advcheck
// attestation signed by the key (each line's reason is in the message).
// ErrBadAttestation means a line is signed by the key but what it states
// does not hold together: its subject is not the model its report is
// about, or the report itself does not verify (then reports.ErrBadReport
// is wrapped too).
var (
	ErrNotAttested    = errors.New("no attestation verifies")
	ErrBadAttestation = errors.New("bad attestation")
)

// Statement is an in-toto Statement v1.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is a resource descriptor with a name and a digest set.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Make returns the attestation of the report whose exact bytes are report,
// signed with priv (whose id is keyID), as one bundle line ending in '\n',
// and the report. The report is decoded and verified first (reports.Decode):
// only a report whose figures follow from its outcomes is attested.
func Make(report []byte, priv ed25519.PrivateKey, keyID string) ([]byte, *reports.Report, error) {
	r, err := reports.Decode(report)
	if err != nil {
		return nil, nil, err
	}
	if !isSHA256(r.Model.SHA256) {
		return nil, nil, fmt.Errorf("%w: model.sha256 %q is not a SHA-256", reports.ErrBadReport, r.Model.SHA256)
	}
	var predicate bytes.Buffer
	if err := json.Compact(&predicate, report); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", reports.ErrBadReport, err)
	}
	name := r.Model.Path
	if name == "" {
		name = "_" // the spec's "no meaningful name"
	}
	st := Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: name, Digest: map[string]string{"sha256": r.Model.SHA256}}},
		PredicateType: PredicateType,
		Predicate:     predicate.Bytes(),
	}
	body, err := json.Marshal(st)
	if err != nil {
		return nil, nil, err
	}
	line, err := json.Marshal(dsse.Sign(dsse.PayloadTypeInToto, body, priv, keyID))
	if err != nil {
		return nil, nil, err
	}
	return append(line, '\n'), r, nil
}

func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && s == strings.ToLower(s)
}

// Attestation is a verified advcheck attestation: the bundle line it was
// on, the key that signed it, its subject and its verified report.
type Attestation struct {
	Line    int
	KeyID   string
	Subject Subject
	Report  *reports.Report
}

// SHA256 is the subject's SHA-256, equal to the report's model.sha256.
func (a *Attestation) SHA256() string { return a.Subject.Digest["sha256"] }

// Verify reads an in-toto bundle (JSON Lines, one DSSE envelope a line)
// and returns every advcheck attestation in it signed by key. As the
// bundle specification asks, lines it does not recognise — not an
// envelope, not signed by key, another payload or Statement or predicate
// type — are passed over; when none is left, the error wraps
// ErrNotAttested and says why each line was passed over. A line that is
// signed by key and is an advcheck Statement must hold: exactly one
// subject, named as the report names the model, whose only digest is the
// report's model.sha256; and a report that verifies. Otherwise the error
// wraps ErrBadAttestation.
func Verify(bundle []byte, key dsse.Key) ([]Attestation, error) {
	var found []Attestation
	var passed []string
	for i, line := range bytes.Split(bundle, []byte("\n")) {
		n := i + 1
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		a, skip, err := verifyLine(line, key)
		switch {
		case err != nil:
			return nil, fmt.Errorf("line %d: %w", n, err)
		case skip != "":
			passed = append(passed, fmt.Sprintf("line %d: %s", n, skip))
			continue
		}
		a.Line = n
		found = append(found, *a)
	}
	if len(found) == 0 {
		if len(passed) == 0 {
			return nil, fmt.Errorf("%w: the bundle is empty", ErrNotAttested)
		}
		if len(passed) > 3 {
			passed = append(passed[:3], fmt.Sprintf("and %d more lines", len(passed)-3))
		}
		return nil, fmt.Errorf("%w: no line is an advcheck attestation signed by key %s (%s)", ErrNotAttested, key.ID, strings.Join(passed, "; "))
	}
	return found, nil
}

// verifyLine checks one line. It returns the attestation, or why the line
// is passed over, or the error that makes the bundle bad.
func verifyLine(line []byte, key dsse.Key) (*Attestation, string, error) {
	env, err := dsse.Parse(line)
	if err != nil {
		return nil, err.Error(), nil
	}
	body, signers, err := env.Verify([]dsse.Key{key}, 1, dsse.PayloadTypeInToto)
	if err != nil {
		return nil, err.Error(), nil
	}
	var st Statement
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Sprintf("the payload is not an in-toto Statement: %v", err), nil
	}
	if st.Type != StatementType {
		return nil, fmt.Sprintf("Statement type %q, not %s", st.Type, StatementType), nil
	}
	if st.PredicateType != PredicateType {
		return nil, fmt.Sprintf("predicate type %q, not %s", st.PredicateType, PredicateType), nil
	}
	// From here on, the key vouches for the line: what does not hold is an
	// error, not a line to pass over.
	r, err := reports.Decode(st.Predicate)
	if err != nil {
		return nil, "", fmt.Errorf("%w: the attested report: %w", ErrBadAttestation, err)
	}
	if len(st.Subject) != 1 {
		return nil, "", fmt.Errorf("%w: %d subjects; an advcheck attestation has one, the model", ErrBadAttestation, len(st.Subject))
	}
	s := st.Subject[0]
	if algs := slices.Sorted(maps.Keys(s.Digest)); !slices.Equal(algs, []string{"sha256"}) {
		return nil, "", fmt.Errorf("%w: subject digest has algorithms %v; want sha256 alone", ErrBadAttestation, algs)
	}
	if s.Digest["sha256"] != r.Model.SHA256 {
		return nil, "", fmt.Errorf("%w: the subject's sha256 %s is not the attested report's model.sha256 %s", ErrBadAttestation, s.Digest["sha256"], r.Model.SHA256)
	}
	if want := r.Model.Path; s.Name != want && !(want == "" && s.Name == "_") {
		return nil, "", fmt.Errorf("%w: the subject is named %q; the attested report's model.path is %q", ErrBadAttestation, s.Name, want)
	}
	return &Attestation{KeyID: signers[0], Subject: s, Report: r}, "", nil
}
