// This file holds what the subcommands share at run time: signals and the
// grace period, where records go (- is standard output), the progress
// line and whether it is shown, and the one message for a URL sluice
// cannot use.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
	"github.com/sluicehq/sluice/internal/urlcheck"
)

// notifySignals returns a context the first SIGINT or SIGTERM cancels and
// a channel the second one closes (commands then cut their grace period
// short); a third exits the process at once. stop undoes it.
func notifySignals(parent context.Context) (ctx context.Context, abort <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	aborted := make(chan struct{})
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-sigs:
			}
			switch n {
			case 1:
				cancel()
			case 2:
				close(aborted)
			default:
				os.Exit(exitInterrupted)
			}
		}
	}()
	return ctx, aborted, func() {
		signal.Stop(sigs)
		close(done)
		<-finished
		cancel()
	}
}

// onAbort calls fn if the run is aborted (a second signal) before stop is
// called; stop returns once fn can no longer start.
func (e *env) onAbort(fn func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-e.abort:
			fn()
		case <-done:
		}
	}()
	return func() { close(done); <-finished }
}

// output returns where records named by name go: standard output for ""
// or "-", else the file, created now so that a bad path fails before the
// run. close closes the file (not standard output). flag names the command
// and flag in the error ("fetch: -o").
func (e *env) output(name, flag string) (w io.Writer, close func() error, err error) {
	if name == "" || name == "-" {
		return e.stdout, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, usageErrorf("%s: %v", flag, err)
	}
	return f, f.Close, nil
}

// showProgress reports whether a progress line goes to stderr: only when
// it is a terminal, and not when records go to that terminal too, where
// the line would land among them.
func (e *env) showProgress(quiet bool, out io.Writer) bool {
	return !quiet && isTerminal(e.stderr) && !isTerminal(out)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// errBadURL marks a URL sluice cannot fetch; checkURL's messages wrap it.
var errBadURL = failure.New(failure.BadURL, "bad URL")

// checkURL returns nil for an absolute http or https URL with a host, and
// otherwise the one message fetch, crawl and load give for that mistake.
func checkURL(raw string) error {
	shown := sluice.RedactURL(raw) // a message shows no password
	if !strings.Contains(raw, "://") {
		if s := otherScheme(raw); s != "" {
			return fmt.Errorf("%w %q: unsupported scheme %q (want http or https)", errBadURL, shown, s)
		}
		return fmt.Errorf("%w %q: missing scheme (want http:// or https://)", errBadURL, shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w %q: %v", errBadURL, shown, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w %q: unsupported scheme %q (want http or https)", errBadURL, shown, u.Scheme)
	case u.Host == "":
		return fmt.Errorf("%w %q: missing host", errBadURL, shown)
	}
	if p, bad := urlcheck.BadPort(u); bad {
		return fmt.Errorf("%w %q: port %s out of range (0 to 65535)", errBadURL, shown, p)
	}
	return nil
}

// otherScheme returns the scheme of a URL without "//" that has one other
// than http and https, such as mailto:, javascript: or data:, and "" for
// what reads as a host and port ("localhost:8080", "example.com:80/x"),
// which misses its scheme.
func otherScheme(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque == "" || strings.Contains(u.Scheme, ".") || u.Scheme == "http" || u.Scheme == "https" {
		return ""
	}
	if c := u.Opaque[0]; '0' <= c && c <= '9' {
		return ""
	}
	return u.Scheme
}

// statusLine is a one-line status on a terminal, redrawn in place and
// cleared at the end. Its methods are safe for concurrent use.
type statusLine struct {
	w     io.Writer
	mu    sync.Mutex
	start time.Time
	last  time.Time
	shown bool
	now   func() time.Time // the clock; tests set their own
}

func newStatusLine(w io.Writer) *statusLine {
	return &statusLine{w: w, start: time.Now(), now: time.Now}
}

// show redraws the line with text() followed by the rate of n items, at
// most ten times a second; text is called only when the line is redrawn.
func (s *statusLine) show(n int64, unit string, text func() string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.shown && now.Sub(s.last) < 100*time.Millisecond {
		return
	}
	s.last, s.shown = now, true
	rate := float64(n) / max(now.Sub(s.start).Seconds(), 1e-9)
	fmt.Fprintf(s.w, "\r\033[K%s (%.1f %s/s)", text(), rate, unit)
}

// clear erases the line.
func (s *statusLine) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown {
		fmt.Fprint(s.w, "\r\033[K")
		s.shown = false
	}
}
