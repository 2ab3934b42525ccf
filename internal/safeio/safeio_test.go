package safeio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within fails the test if f does not return in time, so that a regression
// (an open that blocks on a pipe) fails instead of hanging the suite.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still blocked after %v", d)
	}
}

func TestOpenRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "x.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	for _, c := range []struct{ path, kind string }{
		{fifo, "a named pipe"},
		{dir, "a directory"},
		{"/dev/null", "a character device"},
	} {
		within(t, 5*time.Second, func() {
			f, err := Open(c.path)
			if err == nil {
				f.Close()
				t.Errorf("%s: opened", c.path)
				return
			}
			if !errors.Is(err, ErrNotRegular) || err.Error() != c.path+" is "+c.kind+", not a regular file" {
				t.Errorf("%s: %v", c.path, err)
			}
		})
		within(t, 5*time.Second, func() {
			if _, err := ReadFile(c.path, 100); !errors.Is(err, ErrNotRegular) {
				t.Errorf("ReadFile %s: %v", c.path, err)
			}
		})
	}
}

func TestOpenRegularAndSymlink(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p, link} {
		b, err := ReadFile(path, 5)
		if err != nil || string(b) != "hello" {
			t.Errorf("%s: %q, %v", path, b, err)
		}
	}
	if _, err := ReadFile(p, 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit 4: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rc, _ := f.SyscallConn()
	var flags uintptr
	rc.Control(func(fd uintptr) {
		flags, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	})
	if flags&syscall.O_NONBLOCK != 0 {
		t.Errorf("descriptor left non-blocking (flags %#x)", flags)
	}
	if !strings.HasSuffix(f.Name(), "a.txt") {
		t.Errorf("name %s", f.Name())
	}
}

// ReadAll returns the bytes from the current offset, refuses more than the
// limit, and allocates the file's size once rather than doubling a buffer.
func TestReadAll(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	path := filepath.Join(dir, "f")
	os.WriteFile(path, data, 0o644)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644)
	read := func(p string, off, limit int64) ([]byte, error) {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.Seek(off, io.SeekStart)
		return ReadAll(f, limit)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := read(path, 0, 0)
	runtime.ReadMemStats(&after)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("whole file: %d bytes, %v", len(b), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(len(data))+1<<20 {
		t.Errorf("reading %d bytes allocated %d", len(data), grew)
	}
	if b, err := read(path, 100, int64(len(data))); err != nil || !bytes.Equal(b, data[100:]) {
		t.Errorf("from offset 100: %d bytes, %v", len(b), err)
	}
	if b, err := read(path, 0, int64(len(data))); err != nil || len(b) != len(data) {
		t.Errorf("at the limit: %d bytes, %v", len(b), err)
	}
	if _, err := read(path, 0, int64(len(data))-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if b, err := read(filepath.Join(dir, "empty"), 0, 10); err != nil || len(b) != 0 {
		t.Errorf("empty file: %q, %v", b, err)
	}
}
