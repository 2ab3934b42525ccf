// Package safeio opens the files advcheck reads (models, data, reports,
// policies, keys, signatures) without ever blocking on a file that is not a
// regular file: a named pipe, a device or a socket given as an input would
// otherwise hang the open or the first read forever.
//
// The check is made on the opened descriptor (fstat), not on the path before
// opening it, so that a file swapped for a pipe between a check and the open
// is still refused.
package safeio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by errors about inputs that are not regular files.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by errors about files over a size limit.
var ErrTooLarge = errors.New("over the size limit")

// Open opens path for reading. It follows symbolic links, opens without
// waiting for a writer (O_NONBLOCK, so that opening a named pipe returns at
// once) and refuses anything that is not a regular file. The descriptor is
// put back into blocking mode before it is returned, so reads behave as
// with os.Open.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	if err := setBlocking(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// NotRegularError says that a path names something other than a regular file.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, Describe(e.Mode))
}

func (e *NotRegularError) Unwrap() error { return ErrNotRegular }

// Describe names the kind of file a mode is, with an article ("a named pipe").
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

// ReadFile reads a whole regular file of at most max bytes (max ≤ 0: no
// limit). A file that is larger, or grows past max while it is read, is
// refused with an error wrapping ErrTooLarge.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if max > 0 {
		if st, err := f.Stat(); err == nil && st.Size() > max {
			return nil, fmt.Errorf("%s is %d bytes, %w of %d", path, st.Size(), ErrTooLarge, max)
		}
	}
	b, err := ReadAll(f, max)
	if errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%s is %w of %d bytes", path, ErrTooLarge, max)
	}
	return b, err
}

// ReadAll reads f from its current offset to its end, refusing more than
// limit bytes (limit ≤ 0: no limit) with an error wrapping ErrTooLarge. It
// allocates the file's size once: io.ReadAll grows its buffer by doubling,
// so that reading an N-byte file with it can hold up to 2N bytes.
func ReadAll(f *os.File, limit int64) ([]byte, error) {
	var r io.Reader = f
	if limit > 0 {
		r = io.LimitReader(f, limit+1)
	}
	size := int64(0)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if off, err := f.Seek(0, io.SeekCurrent); err == nil {
			size = max(st.Size()-off, 0)
		}
	}
	if limit > 0 {
		size = min(size, limit)
	}
	// One byte more than the size, so that the end of the file is seen
	// without growing the buffer.
	buf := make([]byte, size+1)
	n, err := io.ReadFull(r, buf)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		buf = buf[:n]
	case nil: // the file grew since Stat, or is not regular
		rest, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		buf = append(buf, rest...)
	default:
		return nil, err
	}
	if limit > 0 && int64(len(buf)) > limit {
		return nil, fmt.Errorf("%s is %w of %d bytes", f.Name(), ErrTooLarge, limit)
	}
	return buf, nil
}
