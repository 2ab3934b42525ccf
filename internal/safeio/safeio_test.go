package safeio

import (
	"errors"
	"os"
	"path/filepath"
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
