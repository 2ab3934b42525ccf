package main

import (
	"context"
	"fmt"
	"time"
)

// withTimeout applies --timeout from the start of a command, so that it
// covers loading the model and the data as well as the attacks.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// untilDone runs load and returns its error, or returns as soon as ctx ends
// (--timeout, SIGINT, SIGTERM) with an error wrapping ctx's, which maps to
// exit 124, 130 or 143. Loading reads files and decodes them without
// looking at ctx, and a read from a stalled file system cannot be
// interrupted at all, so load keeps running in its goroutine; the command
// ends and the process exits with it. load must not touch anything the
// caller uses after an early return.
func untilDone(ctx context.Context, load func() error) error {
	done := make(chan error, 1)
	go func() { done <- load() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("stopped while loading the model and data: %w", ctx.Err())
	}
}
