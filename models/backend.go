package models

import (
	"github.com/advcheck/advcheck/internal/parallel"
	"github.com/advcheck/advcheck/models/internal/blas"
)

// Backend names the matrix-multiply backend compiled in: "openblas …" for
// the documented build (make build), "gonum (pure Go)" for a plain go build.
func Backend() string { return blas.Backend() }

// SetThreads sets the number of compute workers shared by every model in the
// process (0 means one per CPU). BLAS runs single-threaded inside them.
func SetThreads(n int) { parallel.SetWorkers(n) }

// Threads returns the number of compute workers.
func Threads() int { return parallel.Workers() }
