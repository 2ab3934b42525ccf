//go:build unix

package safeio

import (
	"os"
	"syscall"
)

// setBlocking clears O_NONBLOCK on a regular file Open opened, so that the
// descriptor behaves as one from os.Open (for example when handed to a child).
func setBlocking(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
