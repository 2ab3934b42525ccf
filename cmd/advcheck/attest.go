package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/advcheck/advcheck/internal/attest"
	"github.com/advcheck/advcheck/internal/dsse"
	"github.com/advcheck/advcheck/internal/signing"
	"github.com/advcheck/advcheck/internal/textsafe"
)

// verifyAttestation checks the in-toto bundle at path (see verify's help):
// a key that cannot be read is exit 2, a bundle that cannot be read or an
// attestation signed by the key that does not hold together exit 3, and no
// attestation signed by the key exit 1. --model and --data are then checked
// against every attested report.
func verifyAttestation(o *verifyOptions, path string, w io.Writer) error {
	pub, err := signing.ReadPublicKey(o.pub)
	if err != nil {
		return usageErr(fmt.Errorf("--pub: %w", err))
	}
	data, err := readLimited(path, attest.MaxBundleBytes)
	if err != nil {
		return badInputErr(err)
	}
	found, err := attest.Verify(data, dsse.Key{ID: pub.KeyID, Public: pub.PublicKey})
	switch {
	case errors.Is(err, attest.ErrNotAttested):
		return checkErr(fmt.Errorf("%s: %w", path, err))
	case err != nil:
		return badInputErr(fmt.Errorf("%s: %w", path, err))
	}
	for _, a := range found {
		fmt.Fprintf(w, "attestation OK: %s line %d: in-toto Statement, predicate %s, subject %s (sha256 %s), signed by key %s\n",
			textsafe.Line(path), a.Line, attest.PredicateType, textsafe.Line(a.Subject.Name), textsafe.Line(a.SHA256()), textsafe.Line(a.KeyID))
	}
	if o.model != "" {
		got, err := fileSHA256(o.model)
		if err != nil {
			return badInputErr(err)
		}
		for _, a := range found {
			if got != a.SHA256() {
				return checkErr(fmt.Errorf("line %d attests model sha256 %s; %s has sha256 %s", a.Line, a.SHA256(), o.model, got))
			}
		}
		fmt.Fprintf(w, "model OK: %s matches the attested subject (sha256 %s)\n", textsafe.Line(o.model), got)
	}
	if o.data != "" {
		data := *o
		data.model = ""
		for _, a := range found {
			if err := checkInputs(&data, a.Report, w); err != nil {
				return err
			}
		}
	}
	return nil
}
