package main

import (
	"bytes"
	"errors"
	"fmt"

	"os"
	"syscall"

	"github.com/advcheck/advcheck/internal/safeio"
	"github.com/advcheck/advcheck/internal/signing"
	"github.com/advcheck/advcheck/reports"
)

// readLimited reads a whole regular file, refusing one larger than max bytes.
// It opens without blocking so that a FIFO named as an input is refused,
// not waited on.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := safeio.ReadAll(f, max)
	if errors.Is(err, safeio.ErrTooLarge) {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, err
}

// verifySignature checks path.sig over data, the bytes of path the caller
// goes on to use, with the public key pub (given as flag). A key that cannot
// be read is a usage error (exit 2); a missing, malformed or wrong signature
// is a failed check (exit 1).
func verifySignature(flag, path string, data []byte, pub string) (*signing.Verified, error) {
	v, err := signing.VerifyBytes(path, data, pub)
	if err != nil {
		return nil, signatureErr(flag, err)
	}
	return v, nil
}

// signatureErr maps a signature that does not verify to its exit status: a
// key that cannot be read (given as flag) is a usage error, anything else a
// failed check.
func signatureErr(flag string, err error) error {
	if errors.Is(err, signing.ErrKey) {
		return usageErr(fmt.Errorf("%s: %w", flag, err))
	}
	return checkErr(fmt.Errorf("%s: %w", flag, err))
}

// readReport reads the report at path. With pub, the file is read once, the
// signature of exactly those bytes is verified, and the report is decoded
// from them: nothing unverified is ever decoded, and the file cannot change
// between the check and the use.
func readReport(path string, maxBytes int64, pub string) (*reports.Report, error) {
	if pub == "" {
		r, err := reports.ReadFile(path, maxBytes)
		if err != nil {
			return nil, badInputErr(err)
		}
		return r, nil
	}
	if maxBytes <= 0 {
		maxBytes = reports.DefaultMaxReportBytes
	}
	data, err := readLimited(path, maxBytes)
	if err != nil {
		return nil, badInputErr(fmt.Errorf("%w: %v", reports.ErrBadReport, err))
	}
	if _, err := verifySignature("--require-signature", path, data, pub); err != nil {
		return nil, err
	}
	r, err := reports.Read(bytes.NewReader(data), maxBytes)
	if err != nil {
		return nil, badInputErr(fmt.Errorf("%s: %w", path, err))
	}
	return r, nil
}

// checkPublicKey refuses a --require-signature key that cannot be used,
// before any work is done.
func checkPublicKey(pub string) error {
	if pub == "" {
		return nil
	}
	if _, err := signing.ReadPublicKey(pub); err != nil {
		return usageErr(fmt.Errorf("--require-signature: %w", err))
	}
	return nil
}
