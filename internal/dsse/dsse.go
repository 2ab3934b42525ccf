// Package dsse signs and verifies Dead Simple Signing Envelopes (DSSE v1,
// github.com/secure-systems-lab/dsse, protocol.md and envelope.md) with
// Ed25519 keys, the envelope that in-toto attestations travel in.
//
// A signature covers PAE(payloadType, payload), the pre-authentication
// encoding
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// with lengths as ASCII decimal byte counts, so neither the payload nor its
// type can be changed or swapped without breaking it. The envelope is JSON:
//
//	{"payloadType": …, "payload": base64(body), "signatures": [{"keyid": …, "sig": base64(sig)}]}
package dsse

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// PayloadTypeInToto is the payload type of an in-toto Statement.
const PayloadTypeInToto = "application/vnd.in-toto+json"

// ErrRejected is wrapped by every error of Verify: the envelope cannot be
// decoded, too few trusted keys signed it, or its type is not supported.
var ErrRejected = errors.New("envelope does not verify")

// Envelope is a DSSE JSON envelope. Payload and Sig hold base64 text as it
// appears in the file.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an envelope. KeyID is an unauthenticated
// hint: it only narrows which keys are tried.
type Signature struct {
	KeyID string `json:"keyid,omitempty"`
	Sig   string `json:"sig"`
}

// Key is a trusted verification key and the id signers give it.
type Key struct {
	ID     string
	Public ed25519.PublicKey
}

// PAE is the pre-authentication encoding of payloadType and body: the bytes
// a signature covers.
func PAE(payloadType string, body []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(body))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, ' ')
	return append(b, body...)
}

// Sign returns an envelope holding body, of type payloadType, signed with
// priv under the key id keyID (omitted when empty).
func Sign(payloadType string, body []byte, priv ed25519.PrivateKey, keyID string) *Envelope {
	sig := ed25519.Sign(priv, PAE(payloadType, body))
	return &Envelope{
		PayloadType: payloadType,
		Payload:     base64.StdEncoding.EncodeToString(body),
		Signatures:  []Signature{{KeyID: keyID, Sig: base64.StdEncoding.EncodeToString(sig)}},
	}
}

// Parse decodes one envelope from its JSON.
func Parse(b []byte) (*Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: not a DSSE envelope: %v", ErrRejected, err)
	}
	return &e, nil
}

// decode reads standard or URL-safe base64, which the protocol requires a
// verifier to accept.
func decode(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	return base64.URLEncoding.Strict().DecodeString(s)
}

// Verify checks the envelope as the DSSE protocol says: every field must
// decode; a signature counts when its key id is empty or names a key of
// keys and it verifies over PAE with that key; at least threshold distinct
// keys must have signed; and the payload type must be one of payloadTypes.
// It returns the payload and the ids of the keys that signed it.
//
// It panics if threshold is less than 1.
func (e *Envelope) Verify(keys []Key, threshold int, payloadTypes ...string) ([]byte, []string, error) {
	if threshold < 1 {
		panic("dsse: threshold less than 1")
	}
	body, err := decode(e.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload is not base64: %v", ErrRejected, err)
	}
	sigs := make([][]byte, len(e.Signatures))
	for i, s := range e.Signatures {
		if sigs[i], err = decode(s.Sig); err != nil {
			return nil, nil, fmt.Errorf("%w: signature %d is not base64: %v", ErrRejected, i+1, err)
		}
	}
	pae := PAE(e.PayloadType, body)
	var accepted []string
	for i, s := range e.Signatures {
		for _, k := range keys {
			if (s.KeyID != "" && s.KeyID != k.ID) || slices.Contains(accepted, k.ID) {
				continue
			}
			if ed25519.Verify(k.Public, pae, sigs[i]) {
				accepted = append(accepted, k.ID)
				break
			}
		}
	}
	if len(accepted) < threshold {
		return nil, nil, fmt.Errorf("%w: %s", ErrRejected, e.why(keys, len(accepted), threshold))
	}
	if !slices.Contains(payloadTypes, e.PayloadType) {
		return nil, nil, fmt.Errorf("%w: payload type %q is not %s", ErrRejected, e.PayloadType, orList(payloadTypes))
	}
	return body, accepted, nil
}

// why says, for the error message, why too few keys signed.
func (e *Envelope) why(keys []Key, got, threshold int) string {
	if len(e.Signatures) == 0 {
		return "it has no signatures"
	}
	if threshold == 1 && len(keys) == 1 {
		named := false
		for _, s := range e.Signatures {
			named = named || s.KeyID == "" || s.KeyID == keys[0].ID
		}
		if !named {
			ids := make([]string, len(e.Signatures))
			for i, s := range e.Signatures {
				ids[i] = strconv.Quote(s.KeyID)
			}
			return fmt.Sprintf("it is signed by key %s, not by %s", orList(ids), keys[0].ID)
		}
		return fmt.Sprintf("no signature is valid for key %s over its payload and payload type", keys[0].ID)
	}
	return fmt.Sprintf("%d distinct trusted keys signed it; %d needed", got, threshold)
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return "supported"
	case 1:
		return s[0]
	}
	return fmt.Sprintf("one of %v", s)
}
