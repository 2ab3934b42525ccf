package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/internal/signing"
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
			fmt.Fprintf(cmd.OutOrStdout(), "key id %s\nprivate key %s.key (keep it secret)\npublic key  %s.pub\n", id, out, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write PREFIX.key and PREFIX.pub")
	return cmd
}

func newSignCommand() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "sign FILE --key KEY",
		Short: "Sign a file (a model or a report) with a detached Ed25519 signature",
		Long: `Sign the exact bytes of FILE — any file: a model, a report, a policy — and
write the signature beside it as FILE.sig, with the signing key's id.

The private key should be readable by its owner only (mode 0600, as keygen
writes it); sign warns on stderr when group or others may read it.

` + exitStatusHelp,
		Example: `  advcheck sign report.json --key release-2026.key
  advcheck sign model.onnx --key release-2026.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSign(args[0], key, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "the private key file (from keygen)")
	return cmd
}

func runSign(path, key string, stdout, stderr io.Writer) error {
	if key == "" {
		return usageErr(fmt.Errorf("--key KEY is required"))
	}
	s, err := signing.Sign(path, key)
	if err != nil {
		if errors.Is(err, signing.ErrKey) {
			return usageErr(fmt.Errorf("--key: %w", err))
		}
		return badInputErr(err)
	}
	// As ssh does for identity files: a private key others can read may
	// already be in other hands, and signatures made with it prove little.
	if st, err := os.Stat(key); err == nil && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(stderr, "advcheck: WARNING: UNPROTECTED PRIVATE KEY FILE: %s has mode %04o, readable beyond its owner; run chmod 600 %s\n", key, st.Mode().Perm(), key)
	}
	fmt.Fprintf(stdout, "signed %s (sha256 %s) with key %s: %s\n", path, s.FileSHA256, s.KeyID, signing.SigPath(path))
	return nil
}

type verifyOptions struct {
	pub        string
	model      string
	data       string
	dataLayout string
	classes    string
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
or unreadable. The SHA-256 printed is computed from FILE's bytes.

For a report, --model and --data also re-hash those inputs and compare them
with the report's model SHA-256 and decoded-data SHA-256 (exit 1 on a mismatch),
so an auditor can confirm that the report is about this model and this data.

` + exitStatusHelp,
		Example: `  advcheck verify report.json --pub release-2026.pub
  advcheck verify report.json --pub release-2026.pub --model model.onnx --data mnist:data/mnist`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), o, args[0], cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.pub, "pub", "", "the public key file")
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
	// Read once: the bytes whose signature is checked are the bytes hashed,
	// printed and, with --model or --data, decoded as the report.
	data, err := readLimited(path, signing.MaxSignedBytes)
	if err != nil {
		return badInputErr(err)
	}
	v, err := verifySignature("--pub", path, data, o.pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "signature OK: %s (sha256 %s, %d bytes) signed by key %s\n", path, v.SHA256, v.Bytes, v.KeyID)
	if o.model == "" && o.data == "" {
		return nil
	}
	r, err := reports.Read(bytes.NewReader(data), 0)
	if err != nil {
		return badInputErr(fmt.Errorf("--model/--data need FILE to be a report: %w", err))
	}
	if o.model != "" {
		got, err := fileSHA256(o.model)
		if err != nil {
			return badInputErr(err)
		}
		if got != r.Model.SHA256 {
			return checkErr(fmt.Errorf("the report is about model sha256 %s; %s has sha256 %s", r.Model.SHA256, o.model, got))
		}
		fmt.Fprintf(w, "model OK: %s matches the report (sha256 %s)\n", o.model, got)
	}
	if o.data != "" {
		sum, err := dataSHA256(o, r)
		if err != nil {
			return err
		}
		if sum != r.Dataset.SHA256Decoded {
			return checkErr(fmt.Errorf("the report is about data sha256 %s; %s decodes to sha256 %s", r.Dataset.SHA256Decoded, o.data, sum))
		}
		fmt.Fprintf(w, "data OK: %s matches the report (decoded sha256 %s)\n", o.data, sum)
	}
	return nil
}
