package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressBar draws a one-line progress bar with rate and ETA on a terminal.
type progressBar struct {
	w     io.Writer
	label string
	mu    sync.Mutex
	total int
	done  int
	start time.Time
	last  time.Time
	drawn bool
}

func (p *progressBar) Start(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.done, p.start = total, 0, time.Now()
	p.draw(true)
}

func (p *progressBar) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.draw(false)
}

func (p *progressBar) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		p.draw(true)
		fmt.Fprintln(p.w)
	}
}

func (p *progressBar) draw(force bool) {
	now := time.Now()
	if !force && now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	const width = 30
	bar := strings.Repeat("█", int(frac*width)) + strings.Repeat("░", width-int(frac*width))
	eta := "—"
	if el := now.Sub(p.start); p.done > 0 && p.done < p.total {
		eta = (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s %s %5.1f%% (%d/%d) ETA %s   ", p.label, bar, 100*frac, p.done, p.total, eta)
	p.drawn = true
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
