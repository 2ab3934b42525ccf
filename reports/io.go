package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/advcheck/advcheck/internal/atomicfile"
	"github.com/advcheck/advcheck/internal/safeio"
)

// ErrBadReport is wrapped by errors reading a report that is unreadable,
// malformed, of another schema or over the size limit.
var ErrBadReport = errors.New("bad report")

// DefaultMaxReportBytes bounds the size of a report advcheck reads.
const DefaultMaxReportBytes = 1 << 30

// Encode returns the report as indented JSON.
func (r *Report) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes the report atomically.
func (r *Report) WriteFile(path string) error {
	b, err := r.Encode()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o644)
}

// Read reads a report of at most maxBytes bytes and decodes and verifies it
// (see Decode).
func Read(rd io.Reader, maxBytes int64) (*Report, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxReportBytes
	}
	b, err := io.ReadAll(io.LimitReader(rd, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadReport, maxBytes)
	}
	return Decode(b)
}

// Decode decodes a report from exactly the bytes b and verifies it: a
// known schema, per-sample outcomes laid out as its configuration says,
// and every figure equal to what they give (see Verify). Every error wraps
// ErrBadReport. It is the one way advcheck reads a report, so a gate,
// a merge, a resumed run and a re-rendered report all rest on recomputed
// figures, never on numbers a file merely states.
func Decode(b []byte) (*Report, error) {
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrBadReport, err)
	}
	if head.Schema != Schema {
		return nil, fmt.Errorf("%w: schema %q, want %q", ErrBadReport, head.Schema, Schema)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	if err := r.Verify(); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReadFile reads a report file.
func ReadFile(path string, maxBytes int64) (*Report, error) {
	f, err := safeio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	defer f.Close()
	r, err := Read(f, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
