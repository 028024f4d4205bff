// This file reads input URLs from arguments, files and standard input.

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
	"golang.org/x/term"
)

// maxLineBytes caps an input line. A URL is rarely over 8 KiB; a line past
// the cap is not held, only its first bytes, and gets a record with
// errLineTooLong so that reading goes on in bounded memory.
const maxLineBytes = 64 << 10

// lineHead is how much of a line that is too long its record shows.
const lineHead = 256

// errLineTooLong is the error of an input line longer than maxLineBytes.
var errLineTooLong = failure.New(failure.TooLarge, fmt.Sprintf("sluice: line too long (over %d bytes)", maxLineBytes))

// bom is the UTF-8 byte order mark some editors put before the first line.
var bom = []byte("\ufeff")

// inputLine is one line of input, numbered in the order it was read. err
// is set for a line that cannot be a URL whatever it says (too long); text
// then holds its first bytes.
type inputLine struct {
	n    int
	text string
	err  error
	id   string // the queue message it came from, with --queue
}

// readInputs sends every argument and every non-blank, non-comment line of
// the files to out, numbered, and closes out when they are exhausted or ctx
// ends. With follow, files are read concurrently and polled for growth, like
// tail -f, until ctx ends. It returns the number of lines skipped as blank
// or comments via skipped once out is closed.
func readInputs(ctx context.Context, args []string, files []string, stdin io.Reader, follow bool, out chan<- inputLine, errs chan<- error) (skipped *int) {
	skipped = new(int)
	var (
		mu sync.Mutex
		n  int
	)
	// send hands a line over; skip says whether a blank or comment line
	// is skipped, as it is in a file but not as an argument, which is a
	// URL given one by one and gets its record (as a crawl's seeds do).
	send := func(s string, err error, skip bool) bool {
		s = strings.TrimSpace(s)
		mu.Lock()
		if skip && err == nil && (s == "" || strings.HasPrefix(s, "#")) {
			*skipped++
			mu.Unlock()
			return true
		}
		n++
		ln := inputLine{n: n, text: s, err: err}
		mu.Unlock()
		select {
		case out <- ln:
			return true
		case <-ctx.Done():
			// The line was read: hand it over anyway so it gets its record.
			out <- ln
			return false
		}
	}
	emit := func(s string, err error) bool { return send(s, err, true) }
	go func() {
		defer close(out)
		for _, a := range args {
			if ctx.Err() != nil || !send(a, nil, false) {
				return
			}
		}
		if len(files) == 0 {
			if len(args) == 0 {
				if err := scanLines(ctx, stdin, false, emit); err != nil {
					errs <- err
				}
			}
			return
		}
		readFiles(ctx, files, stdin, follow, emit, errs)
	}()
	return skipped
}

// hintStdin tells a user at a terminal that a command given no URL reads
// them from it, as it does from a pipe: without a word it seemed to hang.
func hintStdin(e *env, cmd string) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(e.stderr, "%s: reading URLs from the terminal, one a line; Ctrl+D ends them\n", cmd)
	}
}

// readFiles reads the input files one after the other, or all at once
// when follow keeps each open as it grows; "-" is stdin.
func readFiles(ctx context.Context, files []string, stdin io.Reader, follow bool, emit func(string, error) bool, errs chan<- error) {
	var wg sync.WaitGroup
	for _, name := range files {
		read := func() {
			var r io.Reader = stdin
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					errs <- err
					return
				}
				defer f.Close()
				r = f
			}
			if err := scanLines(ctx, r, follow && name != "-", emit); err != nil {
				errs <- err
			}
		}
		if follow {
			wg.Go(read)
		} else {
			read()
		}
	}
	wg.Wait()
}

// scanLines calls emit for each line of r, without a UTF-8 byte order mark
// at the start. A line longer than maxLineBytes is emitted as its first
// bytes with errLineTooLong, and the rest of it is skipped unread into
// memory. With follow it waits for more at EOF until ctx ends, keeping a
// partial last line until it is complete.
func scanLines(ctx context.Context, r io.Reader, follow bool, emit func(string, error) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		partial []byte
		tooLong bool
		first   = true
	)
	flush := func() bool {
		line := partial
		if first {
			line, first = bytes.TrimPrefix(line, bom), false
		}
		var err error
		if tooLong {
			err = errLineTooLong
		}
		partial, tooLong = partial[:0], false
		return emit(string(line), err)
	}
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case tooLong:
		case len(partial)+len(chunk) > maxLineBytes+1: // +1: the newline
			tooLong = true
			partial = append(partial, chunk...)[:lineHead]
		default:
			partial = append(partial, chunk...)
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			if !flush() || ctx.Err() != nil {
				return nil
			}
			continue
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		if !follow {
			if len(partial) > 0 || tooLong {
				flush()
			}
			return nil
		}
		select {
		case <-ctx.Done():
			if len(partial) > 0 || tooLong {
				flush()
			}
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readSeeds returns the seed URLs of a crawl (or the URLs queue push
// pushes): the arguments, then the non-blank, non-comment lines of each
// file (- for standard input). cmd names the command in errors.
func readSeeds(ctx context.Context, cmd string, args, files []string, stdin io.Reader) ([]string, error) {
	seeds := append([]string(nil), args...)
	var lineErr error
	emit := func(s string, err error) bool {
		if err != nil { // a seed list is short: a line past the cap is a mistake
			lineErr = fmt.Errorf("%w: %.40s…", err, s)
			return false
		}
		if s = strings.TrimSpace(s); s != "" && !strings.HasPrefix(s, "#") {
			seeds = append(seeds, s)
		}
		return true
	}
	for _, name := range files {
		r := stdin
		if name != "-" {
			if err := checkInput(cmd, name); err != nil {
				return nil, err
			}
			f, err := os.Open(name)
			if err != nil {
				return nil, usageErrorf("%s: -i: %v", cmd, err)
			}
			defer f.Close()
			r = f
		}
		if err := scanLines(ctx, r, false, emit); err != nil {
			return nil, fmt.Errorf("%s: reading %s: %w", cmd, name, err)
		}
		if lineErr != nil {
			return nil, usageErrorf("%s: -i %s: %v", cmd, name, lineErr)
		}
	}
	return seeds, nil
}

// checkInput refuses an -i file that is missing or a directory before
// anything is read or fetched: a usage error, as a bad flag value is.
func checkInput(cmd, name string) error {
	fi, err := os.Stat(name)
	switch {
	case err != nil:
		return usageErrorf("%s: -i: %v", cmd, err)
	case fi.IsDir():
		return usageErrorf("%s: -i: %s is a directory", cmd, name)
	}
	return nil
}
