package dsse

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzVerify feeds Parse and Verify envelopes derived from the published
// vectors: no panic, every failure is ErrRejected, and an accepted
// envelope has a signature by a trusted key over its PAE.
func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		b, _ := json.Marshal(v.env)
		f.Add(b)
	}
	f.Add([]byte(`{"signatures":[{"sig":null}],"payload":"===="}`))
	kA, _ := vectorKey(&testing.T{}, "A")
	kB, _ := vectorKey(&testing.T{}, "B")
	keys := []Key{kA, kB}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("Parse: %v", err)
			}
			return
		}
		body, signers, err := e.Verify(keys, 1, PayloadTypeInToto)
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("Verify: %v", err)
			}
			return
		}
		if e.PayloadType != PayloadTypeInToto || len(signers) == 0 {
			t.Fatalf("accepted type %q, signers %v", e.PayloadType, signers)
		}
		// Some signature of the envelope verifies over PAE(type, body).
		for _, sg := range e.Signatures {
			raw, _ := decode(sg.Sig)
			for _, k := range keys {
				if k.ID == signers[0] && ed25519.Verify(k.Public, PAE(e.PayloadType, body), raw) {
					return
				}
			}
		}
		t.Fatalf("accepted an envelope no signature of which verifies")
	})
}
