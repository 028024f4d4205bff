// This file reads input URLs from arguments, files and standard input.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// inputLine is one line of input, numbered in the order it was read.
type inputLine struct {
	n    int
	text string
	id   string // the queue message it came from, with --queue
}

// readInputs sends every non-blank, non-comment line of the sources to out,
// numbered, and closes out when they are exhausted or ctx ends. With follow,
// files are read concurrently and polled for growth, like tail -f, until ctx
// ends. It returns the number of lines skipped as blank or comments via
// skipped once out is closed.
func readInputs(ctx context.Context, args []string, files []string, stdin io.Reader, follow bool, out chan<- inputLine, errs chan<- error) (skipped *int) {
	skipped = new(int)
	var (
		mu sync.Mutex
		n  int
	)
	emit := func(s string) bool {
		s = strings.TrimSpace(s)
		mu.Lock()
		if s == "" || strings.HasPrefix(s, "#") {
			*skipped++
			mu.Unlock()
			return true
		}
		n++
		ln := inputLine{n: n, text: s}
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
	go func() {
		defer close(out)
		for _, a := range args {
			if ctx.Err() != nil || !emit(a) {
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
	}()
	return skipped
}

// scanLines calls emit for each line of r. With follow it waits for more
// at EOF until ctx ends, keeping a partial last line until it is complete.
func scanLines(ctx context.Context, r io.Reader, follow bool, emit func(string) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var partial strings.Builder
	for {
		chunk, err := br.ReadString('\n')
		partial.WriteString(chunk)
		if strings.HasSuffix(chunk, "\n") {
			line := partial.String()
			partial.Reset()
			if !emit(line) {
				return nil
			}
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		if !follow {
			if partial.Len() > 0 {
				emit(partial.String())
			}
			return nil
		}
		select {
		case <-ctx.Done():
			if partial.Len() > 0 {
				emit(partial.String())
			}
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readSeeds returns the seed URLs of a crawl: the arguments, then the
// non-blank, non-comment lines of each file (- for standard input).
func readSeeds(ctx context.Context, args, files []string, stdin io.Reader) ([]string, error) {
	seeds := append([]string(nil), args...)
	emit := func(s string) bool {
		if s = strings.TrimSpace(s); s != "" && !strings.HasPrefix(s, "#") {
			seeds = append(seeds, s)
		}
		return true
	}
	for _, name := range files {
		r := stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return nil, usageErrorf("crawl: -i: %v", err)
			}
			defer f.Close()
			r = f
		}
		if err := scanLines(ctx, r, false, emit); err != nil {
			return nil, fmt.Errorf("crawl: reading %s: %w", name, err)
		}
	}
	return seeds, nil
}
