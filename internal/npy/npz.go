package npy

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// npzTime is the modification time of every member WriteNPZ writes, so
// that equal arrays give equal bytes.
var npzTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Reading the central directory of an archive may cost at most
// dirBudgetBase + MaxArrays × dirBudgetPerMember bytes: enough to find the
// end record (in the last 65 KiB) and read well-formed member entries, few
// enough that an archive of many tiny entries cannot make the zip reader
// allocate without bound.
const (
	dirBudgetBase      = 512 << 10
	dirBudgetPerMember = 4 << 10
)

// maxNameLen bounds the length of a member name.
const maxNameLen = 255

// ReadNPZ reads the arrays of an .npz archive (as np.savez and
// np.savez_compressed write it) of the given size from r. The map is keyed
// by member name without ".npy".
//
// Members must be stored or deflated, unencrypted, and named "name.npy"
// where name is 1 to 255 of the characters A-Z a-z 0-9 _ . - and starts with
// a letter, digit or underscore; duplicates are an error. The limits bound
// the archive size, the member count, each member's uncompressed size as
// declared (checked before reading it) and as actually read (never more than
// declared), and the elements and uncompressed bytes of all members together.
func ReadNPZ(r io.ReaderAt, size int64, lim Limits) (map[string]*Array, error) {
	lim = lim.withDefaults()
	zr, ra, err := openNPZ(r, size, lim)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Array, len(zr.File))
	left := lim.MaxElements
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		a, err := readMember(f, ra, size, lim, left)
		if err != nil {
			return nil, withContext(err, "member "+strconv.Quote(f.Name))
		}
		left -= int64(a.Len())
		out[name] = a
	}
	return out, nil
}

// openNPZ reads the directory of an archive and checks every member's name,
// method and declared size before any is read.
func openNPZ(r io.ReaderAt, size int64, lim Limits) (*zip.Reader, *budgetReaderAt, error) {
	if size < 0 {
		return nil, nil, fmt.Errorf("npy: negative archive size %d", size)
	}
	if size > lim.MaxFileBytes {
		return nil, nil, errorf(ErrLimit, "archive is %d bytes, limit is %d", size, lim.MaxFileBytes)
	}
	ra := &budgetReaderAt{r: r, limited: true,
		budget: dirBudgetBase + int64(lim.MaxArrays)*dirBudgetPerMember}
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		switch {
		case ra.over:
			return nil, nil, errorf(ErrLimit, "archive directory is too large (limit %d members)", lim.MaxArrays)
		case ra.err != nil:
			return nil, nil, ioError(ra.err, "reading archive")
		}
		return nil, nil, errorf(ErrFormat, "not a valid zip archive (%v)", err)
	}
	ra.limited = false
	if len(zr.File) > lim.MaxArrays {
		return nil, nil, errorf(ErrLimit, "archive has %d members, limit is %d", len(zr.File), lim.MaxArrays)
	}
	seen := make(map[string]bool, len(zr.File))
	var declared uint64
	for _, f := range zr.File {
		name, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok || !validName(name) {
			return nil, nil, errorf(ErrFormat, "member name %q is not a plain name.npy", truncate(f.Name, 80))
		}
		if seen[name] {
			return nil, nil, errorf(ErrFormat, "duplicate member %q", f.Name)
		}
		seen[name] = true
		if f.Flags&0x1 != 0 {
			return nil, nil, errorf(ErrUnsupported, "member %q is encrypted", f.Name)
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, nil, errorf(ErrUnsupported, "member %q uses compression method %d (only stored and deflated are supported)", f.Name, f.Method)
		}
		declared += min(f.UncompressedSize64, 1<<63)
		if declared > uint64(lim.MaxFileBytes) {
			return nil, nil, errorf(ErrLimit, "members total at least %d bytes uncompressed, limit is %d", declared, lim.MaxFileBytes)
		}
	}
	return zr, ra, nil
}

// NPZMember is one member of an .npz archive, located for reading its data
// by offset (stored) or by decompressing forward (deflated), without
// holding it.
type NPZMember struct {
	Header // the member's .npy header; DataOffset counts from the member's first byte
	// Deflated says the member is a raw DEFLATE stream of CompressedBytes
	// bytes from Offset; otherwise its bytes are stored as they are at
	// Offset.
	Deflated        bool
	Offset          int64
	CompressedBytes int64
}

// ReadNPZMembers reads the directory of the .npz archive at path and the
// header of every member, checked as ReadNPZ checks them (names, methods,
// declared sizes, the element limit over all members), without reading
// their data. Errors name the path.
func ReadNPZMembers(path string, lim Limits) (map[string]*NPZMember, error) {
	lim = lim.withDefaults()
	m, err := withNPZFile(path, lim, func(zr *zip.Reader, ra *budgetReaderAt, size int64) (map[string]*NPZMember, error) {
		out := make(map[string]*NPZMember, len(zr.File))
		left := lim.MaxElements
		for _, f := range zr.File {
			name := strings.TrimSuffix(f.Name, ".npy")
			m, err := memberHeader(f, ra, size, lim, left)
			if err != nil {
				return nil, withContext(err, "member "+strconv.Quote(f.Name))
			}
			left -= m.DataBytes / int64(m.DType.Size())
			out[name] = m
		}
		return out, nil
	})
	return m, err
}

// memberHeader reads the .npy header at the start of member f and where its
// data lie.
func memberHeader(f *zip.File, ra *budgetReaderAt, archiveSize int64, lim Limits, maxElems int64) (*NPZMember, error) {
	off, err := f.DataOffset()
	if err != nil {
		if ra.err != nil {
			return nil, ioError(ra.err, "reading archive")
		}
		return nil, errorf(ErrFormat, "cannot locate member (%v)", err)
	}
	size, csize := int64(f.UncompressedSize64), int64(f.CompressedSize64)
	if csize < 0 || off < 0 || off > archiveSize-csize {
		return nil, errorf(ErrFormat, "member data (%d bytes at %d) lie outside the archive", csize, off)
	}
	deflated := f.Method == zip.Deflate
	if !deflated && csize != size {
		return nil, errorf(ErrFormat, "stored member of %d bytes declares %d bytes uncompressed", csize, size)
	}
	rc, err := openMember(f, ra)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h, err := readHeader(io.LimitReader(rc, size+1), lim, maxElems, size)
	if err != nil {
		return nil, formatError(err, ra)
	}
	return &NPZMember{Header: *h, Deflated: deflated, Offset: off, CompressedBytes: csize}, nil
}

// ReadNPZMember reads the member name (without ".npy") of the .npz archive
// at path whole, checked as ReadNPZ checks it. Errors name the path.
func ReadNPZMember(path, name string, lim Limits) (*Array, error) {
	lim = lim.withDefaults()
	return withNPZFile(path, lim, func(zr *zip.Reader, ra *budgetReaderAt, size int64) (*Array, error) {
		for _, f := range zr.File {
			if f.Name == name+".npy" {
				a, err := readMember(f, ra, size, lim, lim.MaxElements)
				if err != nil {
					return nil, withContext(err, "member "+strconv.Quote(f.Name))
				}
				return a, nil
			}
		}
		return nil, errorf(ErrFormat, "no member %q", name+".npy")
	})
}

// withNPZFile opens the archive at path, checks its directory and calls fn.
func withNPZFile[R any](path string, lim Limits, fn func(*zip.Reader, *budgetReaderAt, int64) (R, error)) (R, error) {
	var zero R
	f, err := openFile(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return zero, &inputError{msg: err.Error(), err: err}
	}
	zr, ra, err := openNPZ(f, st.Size(), lim)
	if err != nil {
		return zero, withContext(err, path)
	}
	r, err := fn(zr, ra, st.Size())
	if err != nil {
		return zero, withContext(err, path)
	}
	return r, nil
}

// openMember opens member f; a failure is the archive's reader's error when
// reading failed, else a format error.
func openMember(f *zip.File, ra *budgetReaderAt) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		if ra.err != nil {
			return nil, ioError(ra.err, "reading archive")
		}
		return nil, errorf(ErrFormat, "cannot open member (%v)", err)
	}
	return rc, nil
}

// formatError makes an error of the zip and flate readers (bad checksum,
// corrupt stream) a format error, unless the underlying reader itself failed.
func formatError(err error, ra *budgetReaderAt) error {
	var e *inputError
	if errors.As(err, &e) && e.kind == nil && ra.err == nil {
		c := *e
		c.kind = ErrFormat
		return &c
	}
	return err
}

// readMember reads one member of an archive, reading at most its declared
// uncompressed size plus the one byte that shows it is longer.
func readMember(f *zip.File, ra *budgetReaderAt, archiveSize int64, lim Limits, maxElems int64) (*Array, error) {
	size := int64(f.UncompressedSize64) // at most MaxFileBytes, checked by the caller
	// A stored member whose bytes lie inside the archive has its data
	// present; a deflated one may only claim them.
	prealloc := false
	if off, err := f.DataOffset(); err == nil && f.Method == zip.Store &&
		f.CompressedSize64 == f.UncompressedSize64 && off >= 0 && off <= archiveSize-size {
		prealloc = true
	}
	rc, err := openMember(f, ra)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	a, err := readArray(io.LimitReader(rc, size+1), lim, maxElems, size, prealloc)
	if err != nil {
		// Errors of the zip and flate readers (bad checksum, corrupt stream)
		// are format errors unless the underlying reader itself failed.
		if errors.Is(err, zip.ErrFormat) && ra.err == nil {
			// The zip reader's way of saying the data go on past the size.
			return nil, errorf(ErrFormat, "data exceed the declared size of %d bytes", size)
		}
		return nil, formatError(err, ra)
	}
	return a, nil
}

// validName reports whether name is a plain member name (without ".npy").
func validName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ReadNPZFile reads the .npz archive at path. Errors name the path.
func ReadNPZFile(path string, lim Limits) (map[string]*Array, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &inputError{msg: err.Error(), err: err}
	}
	m, err := ReadNPZ(f, st.Size(), lim)
	if err != nil {
		return nil, withContext(err, path)
	}
	return m, nil
}

// budgetReaderAt bounds the bytes the zip reader may read while it reads the
// central directory, and remembers failures of the underlying reader.
type budgetReaderAt struct {
	r       io.ReaderAt
	limited bool
	budget  int64
	over    bool
	err     error // the first error of r other than io.EOF
}

var (
	errBudget    = errors.New("directory read budget exceeded")
	errBadOffset = errors.New("negative offset")
)

func (b *budgetReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		// A corrupt offset in the archive, not a failure of the reader.
		return 0, errBadOffset
	}
	if b.limited {
		if int64(len(p)) > b.budget {
			b.over = true
			return 0, errBudget
		}
		b.budget -= int64(len(p))
	}
	n, err := b.r.ReadAt(p, off)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// WriteNPZ writes arrays as an .npz archive that np.load reads, with members
// "name.npy" stored uncompressed in the given order (nil means sorted by
// name; otherwise order must list every name of arrays exactly once). Names
// follow the rules of ReadNPZ. Member timestamps are fixed, so the same
// arrays always give the same bytes. Every array is checked before anything
// is written.
func WriteNPZ(w io.Writer, arrays map[string]*Array, order []string) error {
	names := order
	if names == nil {
		names = make([]string, 0, len(arrays))
		for name := range arrays {
			names = append(names, name)
		}
		slices.Sort(names)
	} else {
		seen := make(map[string]bool, len(names))
		for _, name := range names {
			if _, ok := arrays[name]; !ok {
				return fmt.Errorf("npy: order names %q, which is not among the arrays", name)
			}
			if seen[name] {
				return fmt.Errorf("npy: order names %q twice", name)
			}
			seen[name] = true
		}
		if len(seen) != len(arrays) {
			return fmt.Errorf("npy: order lists %d of the %d arrays", len(seen), len(arrays))
		}
	}
	for _, name := range names {
		if !validName(name) {
			return fmt.Errorf("npy: array name %q is not a plain name", name)
		}
		if err := arrays[name].checkWrite(); err != nil {
			return fmt.Errorf("npy: array %q: %w", name, err)
		}
	}
	zw := zip.NewWriter(w)
	for _, name := range names {
		fh := &zip.FileHeader{Name: name + ".npy", Method: zip.Store, Modified: npzTime}
		fh.SetMode(0o644)
		fw, err := zw.CreateHeader(fh)
		if err != nil {
			return err
		}
		if err := Write(fw, arrays[name]); err != nil {
			return err
		}
	}
	return zw.Close()
}
