//go:build !unix

package safeio

import "os"

// setBlocking has nothing to undo where opens do not block on pipes.
func setBlocking(*os.File) error { return nil }
