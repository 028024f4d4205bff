package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/redistest"
	"golang.org/x/sys/unix"
)

// openPTY returns both ends of a new pseudo-terminal, or skips the test
// where there is none.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	c, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	fd := int(c.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		c.Close()
		t.Skipf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		c.Close()
		t.Skipf("pseudo-terminal number: %v", err)
	}
	term, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		c.Close()
		t.Skipf("opening the pseudo-terminal: %v", err)
	}
	return c, term
}

// TestTerminalOutput runs fetch with records and summary on one terminal,
// as a user at a shell does: the records must come out whole, with no
// status line among them. With records going to a file, the status line is
// shown and cleared.
func TestTerminalOutput(t *testing.T) {
	site := cliSite(t)
	var in strings.Builder
	for i := range 200 {
		fmt.Fprintf(&in, "%s/%d/%d\n", site.URL, i%3, i)
	}
	for _, tc := range []struct {
		name       string
		toTerminal bool
	}{{"records on the terminal", true}, {"records to a pipe", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, term := openPTY(t)
			defer c.Close()
			var seen bytes.Buffer
			copied := make(chan struct{})
			go func() { io.Copy(&seen, c); close(copied) }()
			var stdout io.Writer = term
			var records bytes.Buffer
			if !tc.toTerminal {
				stdout = &records
			}
			code := Main(context.Background(), []string{"fetch", "-c", "2"}, strings.NewReader(in.String()), stdout, term)
			term.Close()
			<-copied
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, seen.String())
			}
			out := seen.String()
			if tc.toTerminal {
				// The terminal turns \n into \r\n; any other \r redraws a line.
				if strings.Contains(strings.ReplaceAll(out, "\r\n", "\n"), "\r") {
					t.Fatalf("a status line among the records:\n%q", out)
				}
				if n := strings.Count(out, `{"url":`); n != 200 {
					t.Fatalf("%d records on the terminal, want 200", n)
				}
				return
			}
			if !strings.Contains(out, "\r\033[Kfetch: ") || !strings.Contains(out, "fetched 200 URLs") {
				t.Fatalf("no status line or summary on the terminal:\n%q", out)
			}
			if strings.Count(records.String(), "\n") != 200 {
				t.Fatalf("records: %d lines", strings.Count(records.String(), "\n"))
			}
		})
	}
}

// TestStdinHint runs fetch with no URL and standard input on a terminal,
// as a user trying the command bare does: it seemed to hang, reading the
// terminal without a word. It must say so, and read the line typed; from
// a pipe it says nothing. (queue push gives the same hint.)
func TestStdinHint(t *testing.T) {
	site := cliSite(t)
	const hint = "fetch: reading URLs from the terminal, one a line; Ctrl+D ends them\n"
	c, term := openPTY(t)
	defer c.Close()
	defer term.Close()
	go io.Copy(io.Discard, c) // the terminal's echo
	if _, err := fmt.Fprintf(c, "%s/0\n\x04", site.URL); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"fetch"}, term, &out, &errOut)
	if code != 0 || !strings.HasPrefix(errOut.String(), hint) || strings.Count(out.String(), `"status":200`) != 1 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	code, _, stderr := runFetchCLI(context.Background(), site.URL+"/0\n", "fetch", "-q")
	if code != 0 || strings.Contains(stderr, "terminal") {
		t.Fatalf("from a pipe: exit %d, stderr %q", code, stderr)
	}
}

// TestWatchWaitingLine starts load watch on a run no worker has begun, as
// a mistyped --run is: with stderr a terminal it must say what it waits
// for, where it showed nothing until interrupted.
func TestWatchWaitingLine(t *testing.T) {
	rs := redistest.Start(t)
	c, term := openPTY(t)
	defer c.Close()
	var seen bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&seen, c); close(copied) }()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	code := Main(ctx, []string{"load", "watch", "--redis", rs.URL(0), "--run", "nightyl"}, strings.NewReader(""), io.Discard, term)
	term.Close()
	<-copied
	if code != exitInterrupted || !strings.Contains(seen.String(), `load watch: waiting for run "nightyl" to start`) {
		t.Fatalf("exit %d:\n%q", code, seen.String())
	}
}
