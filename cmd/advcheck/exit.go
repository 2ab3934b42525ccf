package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"

	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/models"
)

// Exit statuses (see `advcheck --help`).
const (
	exitOK        = 0
	exitCheck     = 1   // a check failed: gate requirement, signature, hash
	exitUsage     = 2   // bad flags, arguments or policy
	exitBadInput  = 3   // model, data or report unreadable, malformed or over limits
	exitInternal  = 4   // a bug or an environment failure
	exitTimeout   = 124 // --timeout reached
	exitInterrupt = 130 // SIGINT
	exitTerm      = 143 // SIGTERM
)

// Error kinds the commands wrap their errors in.
var (
	errUsage    = errors.New("usage")
	errBadInput = errors.New("bad input")
	errCheck    = errors.New("check failed")
)

// kindError attaches an exit kind to an error without changing its text.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

func usageErr(err error) error    { return &kindError{errUsage, err} }
func badInputErr(err error) error { return &kindError{errBadInput, err} }
func checkErr(err error) error    { return &kindError{errCheck, err} }

func exitForSignal(s os.Signal) int {
	if s == syscall.SIGTERM {
		return exitTerm
	}
	return exitInterrupt
}

// exitCode maps an error to the documented exit status.
func exitCode(err error, sig os.Signal) int {
	switch {
	case sig != nil && errors.Is(err, context.Canceled):
		return exitForSignal(sig)
	case errors.Is(err, context.DeadlineExceeded):
		return exitTimeout
	case errors.Is(err, errCheck):
		return exitCheck
	case errors.Is(err, errUsage), errors.Is(err, models.ErrContract):
		return exitUsage
	case errors.Is(err, errBadInput), errors.Is(err, models.ErrBadModel):
		return exitBadInput
	case isCobraUsage(err):
		return exitUsage
	}
	return exitInternal
}

// isCobraUsage recognises the flag and argument errors cobra returns.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "invalid argument", "flag needs an argument", "accepts ", "requires at least", "required flag", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// errorLine flattens an error to one line, with the controls that names
// quoted from a model, data set or report may hold escaped.
func errorLine(err error) string {
	return textsafe.Line(strings.Join(strings.Fields(err.Error()), " "))
}
