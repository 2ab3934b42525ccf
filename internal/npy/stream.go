package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// StreamWriter writes a float32 .npy whose first dimension grows as rows are
// appended: the header is written first with 0 rows and rewritten by Finish
// with the final count. Like NumPy, the header reserves room for the growing
// axis, so rewriting it never moves the data.
type StreamWriter struct {
	w      io.WriteSeeker
	tail   []int
	rowLen int
	rows   int
	buf    []byte
}

// NewStreamWriter starts a float32 array of shape (rows, tail...) on w.
func NewStreamWriter(w io.WriteSeeker, tail []int) (*StreamWriter, error) {
	n := 1
	for _, d := range tail {
		if d < 0 {
			return nil, fmt.Errorf("npy: negative dimension %d", d)
		}
		n *= d
	}
	s := &StreamWriter{w: w, tail: append([]int(nil), tail...), rowLen: n}
	if _, err := w.Write(formatHeader(Float32, s.shape())); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *StreamWriter) shape() []int { return append([]int{s.rows}, s.tail...) }

// Append writes whole rows (a multiple of the row length) at the end.
func (s *StreamWriter) Append(data []float32) error {
	if s.rowLen == 0 || len(data)%s.rowLen != 0 {
		return fmt.Errorf("npy: %d values are not whole rows of %d", len(data), s.rowLen)
	}
	if cap(s.buf) < 4*len(data) {
		s.buf = make([]byte, 4*len(data))
	}
	b := s.buf[:4*len(data)]
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	s.rows += len(data) / s.rowLen
	return nil
}

// Rows returns the number of rows appended.
func (s *StreamWriter) Rows() int { return s.rows }

// Finish rewrites the header with the final row count and leaves the writer
// at the end of the data.
func (s *StreamWriter) Finish() error {
	if _, err := s.w.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := s.w.Write(formatHeader(Float32, s.shape())); err != nil {
		return err
	}
	_, err := s.w.Seek(0, io.SeekEnd)
	return err
}
