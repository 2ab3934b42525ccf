package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/internal/atomicfile"
	"github.com/advcheck/advcheck/internal/attest"
	"github.com/advcheck/advcheck/internal/signing"
	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/reports"
)

func newKeygenCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out PREFIX",
		Short: "Make an Ed25519 key pair for signing models and reports",
		Long: `Write a new Ed25519 key pair: PREFIX.key (the private key, mode 0600; keep it
secret) and PREFIX.pub (the public key, to give to whoever verifies). Both carry
a key id derived from the public key. Existing files are never overwritten.

` + exitStatusHelp,
		Example: `  advcheck keygen --out release-2026`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErr(fmt.Errorf("--out PREFIX is required"))
			}
			id, err := signing.Generate(out, nil)
			if err != nil {
				return badInputErr(err)
			}
			// Paths from the command line are printed with their control
			// characters escaped, as every untrusted string is.
			fmt.Fprintf(cmd.OutOrStdout(), "key id %s\nprivate key %s.key (keep it secret)\npublic key  %s.pub\n", textsafe.Line(id), textsafe.Line(out), textsafe.Line(out))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write PREFIX.key and PREFIX.pub")
	return cmd
}

type signOptions struct {
	key         string
	attestation bool
	out         string
}

func newSignCommand() *cobra.Command {
	o := &signOptions{}
	cmd := &cobra.Command{
		Use:   "sign FILE --key KEY [--attestation [--out F]]",
		Short: "Sign a file (a model or a report) with a detached Ed25519 signature",
		Long: `Sign the exact bytes of FILE — any file: a model, a report, a policy — and
write the signature beside it as FILE.sig, with the signing key's id. FILE is
read once, as a stream, whatever its size: the signature is Ed25519ph (RFC
8032, Ed25519 over the file's SHA-512), type advcheck/signature/v2.

With --attestation, FILE must be an advcheck report that verifies (its figures
follow from its per-sample outcomes): it is written as an in-toto attestation
— a Statement whose subject is the model (its path and SHA-256, from the
report) and whose predicate is the report, in a DSSE envelope signed with
KEY — to FILE.intoto.jsonl (or --out F), one envelope on one line as in-toto
bundles hold them. Supply-chain tools that read in-toto attestations can read
it; advcheck verify checks it. A bad report is exit 3.

The private key should be readable by its owner only (mode 0600, as keygen
writes it); sign warns on stderr when group or others may read it.

` + exitStatusHelp,
		Example: `  advcheck sign report.json --key release-2026.key
  advcheck sign model.onnx --key release-2026.key
  advcheck sign report.json --key release-2026.key --attestation`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSign(o, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&o.key, "key", "", "the private key file (from keygen)")
	cmd.Flags().BoolVar(&o.attestation, "attestation", false, "write the report as a signed in-toto attestation (FILE.intoto.jsonl)")
	cmd.Flags().StringVar(&o.out, "out", "", "with --attestation, write the attestation to `F`")
	return cmd
}

func runSign(o *signOptions, path string, stdout, stderr io.Writer) error {
	if o.key == "" {
		return usageErr(fmt.Errorf("--key KEY is required"))
	}
	if o.out != "" && !o.attestation {
		return usageErr(fmt.Errorf("--out is for --attestation; a signature is always written to FILE.sig"))
	}
	var err error
	if o.attestation {
		err = signAttestation(o, path, stdout)
	} else {
		err = signDetached(o.key, path, stdout)
	}
	if err != nil {
		return err
	}
	// As ssh does for identity files: a private key others can read may
	// already be in other hands, and signatures made with it prove little.
	if st, err := os.Stat(o.key); err == nil && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(stderr, "advcheck: WARNING: UNPROTECTED PRIVATE KEY FILE: %s has mode %04o, readable beyond its owner; run chmod 600 %s\n", textsafe.Line(o.key), st.Mode().Perm(), textsafe.Line(o.key))
	}
	return nil
}

func signDetached(key, path string, stdout io.Writer) error {
	s, err := signing.Sign(path, key)
	if err != nil {
		if errors.Is(err, signing.ErrKey) {
			return usageErr(fmt.Errorf("--key: %w", err))
		}
		return badInputErr(err)
	}
	fmt.Fprintf(stdout, "signed %s (sha256 %s) with key %s: %s\n", textsafe.Line(path), s.FileSHA256, textsafe.Line(s.KeyID), textsafe.Line(signing.SigPath(path)))
	return nil
}

func signAttestation(o *signOptions, path string, stdout io.Writer) error {
	out := o.out
	if out == "" {
		out = path + attest.Suffix
	}
	if err := atomicfile.Check(out); err != nil {
		return usageErr(fmt.Errorf("--out: %w", err))
	}
	if same(out, path) {
		return usageErr(fmt.Errorf("--out %s is the report itself", out))
	}
	priv, id, err := signing.ReadPrivateKey(o.key)
	if err != nil {
		return usageErr(fmt.Errorf("--key: %w", err))
	}
	data, err := readLimited(path, reports.DefaultMaxReportBytes)
	if err != nil {
		return badInputErr(fmt.Errorf("%w: %v", reports.ErrBadReport, err))
	}
	line, r, err := attest.Make(data, priv, id)
	if err != nil {
		return badInputErr(fmt.Errorf("%s: %w", path, err))
	}
	if err := atomicfile.Write(out, line, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "attested %s: subject %s (sha256 %s), predicate %s, signed with key %s: %s\n",
		textsafe.Line(path), textsafe.Line(r.Model.Path), textsafe.Line(r.Model.SHA256), attest.PredicateType, textsafe.Line(id), textsafe.Line(out))
	return nil
}

type verifyOptions struct {
	pub         string
	attestation bool
	model       string
	data        string
	dataLayout  string
	classes     string
}

func newVerifyCommand() *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify FILE --pub PUB [--model M] [--data SPEC]",
		Short: "Check a file's signature, and that a report is about a given model and data",
		Long: `Check FILE against FILE.sig and the public key PUB: exit 0 when the signature
holds, 1 when it does not (any changed byte, another key, no FILE.sig or a
malformed one, or a FILE.sig that states another SHA-256 or size than FILE
has), 2 when PUB is not a readable advcheck public key, 3 when FILE is missing
or unreadable. The SHA-256 printed is computed from FILE's bytes. FILE is read
once (as a stream, unless --model or --data decode it as a report); signatures
of the first format (advcheck/signature/v1, plain Ed25519) are accepted too,
and need FILE read whole.

A FILE named *.intoto.jsonl (or given with --attestation) is an in-toto
attestation bundle as sign --attestation writes it: each line is a DSSE
envelope. The advcheck attestations signed by PUB in it are checked — the
DSSE signature over the payload and its type, the in-toto Statement type,
the predicate type ` + attest.PredicateType + `, a subject that is the
model the attested report is about (name and SHA-256), and the report
itself, whose figures must follow from its outcomes. Lines that are not an
advcheck attestation signed by PUB are passed over, as in-toto bundles ask;
exit 1 when none is left, 3 when a signed attestation does not hold together.
--model and --data then check the attested report.

For a report, --model and --data also re-hash those inputs and compare them
with the report's model SHA-256 and decoded-data SHA-256 (exit 1 on a mismatch),
so an auditor can confirm that the report is about this model and this data.

` + exitStatusHelp,
		Example: `  advcheck verify report.json --pub release-2026.pub
  advcheck verify report.json.intoto.jsonl --pub release-2026.pub --model model.onnx
  advcheck verify report.json --pub release-2026.pub --model model.onnx --data mnist:data/mnist`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), o, args[0], cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.pub, "pub", "", "the public key file")
	cmd.Flags().BoolVar(&o.attestation, "attestation", false, "FILE is an in-toto attestation bundle (implied by the suffix "+attest.Suffix+")")
	cmd.Flags().StringVar(&o.model, "model", "", "re-hash this model and compare with the report")
	cmd.Flags().StringVar(&o.data, "data", "", "re-hash this data set and compare with the report")
	cmd.Flags().StringVar(&o.dataLayout, "data-layout", "", "layout of 4-D NumPy image arrays, as given to sweep")
	cmd.Flags().StringVar(&o.classes, "classes", "", "the class list `FILE` of folder:DIR data, as given to sweep (labels are hashed)")
	return cmd
}

func runVerify(_ context.Context, o *verifyOptions, path string, w io.Writer) error {
	if o.pub == "" {
		return usageErr(fmt.Errorf("--pub PUB is required"))
	}
	if o.attestation || strings.HasSuffix(path, attest.Suffix) {
		return verifyAttestation(o, path, w)
	}
	if o.model == "" && o.data == "" {
		// Nothing is decoded: the file is read once, as a stream, for the
		// signature and the digest printed.
		v, err := signing.Verify(path, o.pub)
		if errors.Is(err, signing.ErrMalformed) {
			return badInputErr(err)
		}
		if err != nil {
			return signatureErr("--pub", err)
		}
		printVerified(w, path, v)
		return nil
	}
	// Read once: the bytes whose signature is checked are the bytes hashed,
	// printed and decoded as the report.
	data, err := readLimited(path, signing.MaxSignedBytes)
	if err != nil {
		return badInputErr(err)
	}
	v, err := verifySignature("--pub", path, data, o.pub)
	if err != nil {
		return err
	}
	printVerified(w, path, v)
	r, err := reports.Read(bytes.NewReader(data), 0)
	if err != nil {
		return badInputErr(fmt.Errorf("--model/--data need FILE to be a report: %w", err))
	}
	return checkInputs(o, r, w)
}

func printVerified(w io.Writer, path string, v *signing.Verified) {
	fmt.Fprintf(w, "signature OK: %s (sha256 %s, %d bytes) signed by key %s\n", textsafe.Line(path), v.SHA256, v.Bytes, textsafe.Line(v.KeyID))
}

// checkInputs re-hashes --model and --data and compares them with what the
// verified report r is about.
func checkInputs(o *verifyOptions, r *reports.Report, w io.Writer) error {
	if o.model != "" {
		got, err := fileSHA256(o.model)
		if err != nil {
			return badInputErr(err)
		}
		if got != r.Model.SHA256 {
			return checkErr(fmt.Errorf("the report is about model sha256 %s; %s has sha256 %s", r.Model.SHA256, o.model, got))
		}
		fmt.Fprintf(w, "model OK: %s matches the report (sha256 %s)\n", textsafe.Line(o.model), got)
	}
	if o.data != "" {
		sum, err := dataSHA256(o, r)
		if err != nil {
			return err
		}
		if sum != r.Dataset.SHA256Decoded {
			return checkErr(fmt.Errorf("the report is about data sha256 %s; %s decodes to sha256 %s", r.Dataset.SHA256Decoded, o.data, sum))
		}
		fmt.Fprintf(w, "data OK: %s matches the report (decoded sha256 %s)\n", textsafe.Line(o.data), sum)
	}
	return nil
}

// same reports whether paths a and b name one file.
func same(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
