package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new content"), 0o640); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "new content" || st.Mode().Perm() != 0o640 {
		t.Fatalf("content %q mode %v", b, st.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), []byte("x"), 0o644); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// A symbolic link is written through: its final target gets the content,
// and the link stays a link.
func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "reports", "r.json")
	os.Mkdir(filepath.Dir(target), 0o755)
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "latest.json")
	if err := os.Symlink("reports/r.json", link); err != nil {
		t.Fatal(err)
	}
	if err := Check(link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(link)
	if err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", st.Mode(), err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("target holds %q", b)
	}
	for _, d := range []string{dir, filepath.Dir(target)} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file left: %s", e.Name())
			}
		}
	}
}

// Devices, pipes, directories and dangling links are refused, by Check and
// by Write, and left as they were.
func TestRefuseNonRegularTargets(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	// Never /dev/null itself: a regression run as root would replace it.
	toPipe := filepath.Join(dir, "pipe.json")
	os.Symlink("pipe", toPipe)
	dangling := filepath.Join(dir, "dangling.json")
	os.Symlink("nowhere/x.json", dangling)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	for _, c := range []struct{ path, say string }{
		{fifo, "is a named pipe, not a regular file"},
		{toPipe, "(a link to " + fifo + ") is a named pipe"},
		{sub, "is a directory, not a regular file"},
		{dangling, "does not resolve"},
	} {
		before, _ := os.Lstat(c.path)
		if err := Check(c.path); err == nil || !strings.Contains(err.Error(), c.say) {
			t.Errorf("Check(%s): %v; want %q", c.path, err, c.say)
		}
		if err := Write(c.path, []byte("x"), 0o644); err == nil || !strings.Contains(err.Error(), c.say) {
			t.Errorf("Write(%s): %v; want %q", c.path, err, c.say)
		}
		after, err := os.Lstat(c.path)
		if err != nil || after.Mode() != before.Mode() {
			t.Errorf("%s changed from %v to %v (%v)", c.path, before.Mode(), after.Mode(), err)
		}
	}
}

// Check finds directories that are missing or are not directories before
// any work is done.
func TestCheckDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, p := range []string{filepath.Join(dir, "missing", "r.json"), filepath.Join(file, "r.json")} {
		if err := Check(p); err == nil {
			t.Errorf("Check(%s) passed", p)
		}
	}
	if err := Check(filepath.Join(dir, "new.json")); err != nil {
		t.Error(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the probe left files: %v", ents)
	}
}

// RemoveTemps removes the temporary files of writes still in progress.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	f, err := CreateTemp(dir, "a.npy")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, _ := CreateTemp(dir, "b.npy")
	g.Close()
	os.Rename(g.Name(), filepath.Join(dir, "b.npy"))
	Renamed(g.Name())
	RemoveTemps()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "b.npy" {
		t.Errorf("left %v, want only b.npy", ents)
	}
}
