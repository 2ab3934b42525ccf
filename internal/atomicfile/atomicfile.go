// Package atomicfile writes files so that readers see either the old content
// or the whole new content, never a truncated file: data goes to a temporary
// file in the same directory, is synced, and is renamed over the target.
//
// Targets are resolved first. A symbolic link is written through: the file
// it finally points to is replaced, and the link stays a link. A target that
// exists and is not a regular file (a device such as /dev/null, a named
// pipe, a socket, a directory) is refused rather than replaced by a regular
// file.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/advcheck/advcheck/internal/safeio"
)

// ErrNotRegular is wrapped by errors about targets that exist and are not
// regular files.
var ErrNotRegular = safeio.ErrNotRegular

// Resolve returns the file a write to path replaces: path itself, or the
// final target of a symbolic link. It refuses a target that exists and is
// not a regular file, and a link whose target does not exist.
func Resolve(path string) (string, error) {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", err
	}
	target := path
	if st.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return "", fmt.Errorf("%s is a symbolic link that does not resolve: %w", path, err)
		}
		if st, err = os.Stat(target); err != nil {
			return "", err
		}
	}
	if !st.Mode().IsRegular() {
		if target != path {
			path += " (a link to " + target + ")"
		}
		return "", &safeio.NotRegularError{Path: path, Mode: st.Mode()}
	}
	return target, nil
}

// Check tells whether Write(path, ...) can succeed, before any work that
// would be lost if it cannot: the target resolves (see Resolve) and its
// directory exists and accepts a new file (a probe file is made and removed).
func Check(path string) error {
	target, err := Resolve(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := CreateTemp(dir, filepath.Base(target))
	if err != nil {
		return err
	}
	f.Close()
	Remove(f.Name())
	return nil
}

// Write writes data to path atomically with the given permissions.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	target, err := Resolve(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	dir := filepath.Dir(target)
	f, err := CreateTemp(dir, filepath.Base(target))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, target); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	forget(tmp)
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}

// temps holds the temporary files of writes in progress, for RemoveTemps.
var temps sync.Map

// CreateTemp creates a hidden temporary file in dir for a file called name,
// to be renamed into place or removed with Remove; until then RemoveTemps
// removes it.
func CreateTemp(dir, name string) (*os.File, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err == nil {
		temps.Store(f.Name(), struct{}{})
	}
	return f, err
}

// Remove removes a temporary file made by CreateTemp.
func Remove(tmp string) {
	os.Remove(tmp)
	forget(tmp)
}

// Renamed notes that a temporary file made by CreateTemp was renamed into
// place, so that RemoveTemps leaves its name alone.
func Renamed(tmp string) { forget(tmp) }

func forget(tmp string) { temps.Delete(tmp) }

// RemoveTemps removes the temporary files of every write still in
// progress. A process that must exit at once (a second SIGINT) calls it so
// that no hidden partial files are left behind.
func RemoveTemps() {
	temps.Range(func(k, _ any) bool {
		os.Remove(k.(string))
		temps.Delete(k)
		return true
	})
}
