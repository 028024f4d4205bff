// This file holds sluice fetch: URLs in, one JSON record per URL out.

package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
	"golang.org/x/term"
)

const fetchUsage = `usage: sluice fetch [flags] [URL...]

Fetches each URL once and writes one JSON line per URL:
  {"url","final_url","status","bytes","duration_ms","attempts","error","error_kind"}
URLs come from the arguments, from -i files, or from standard input. Blank
lines and lines starting with # are skipped. A bad URL gets a record with
its error. On Ctrl+C intake stops, requests already started get --grace to
finish (a second Ctrl+C cancels them), and every line read gets its record.

Flags:`

// fetchRecord is one output line of sluice fetch.
type fetchRecord struct {
	URL        string  `json:"url"`
	FinalURL   string  `json:"final_url,omitempty"`
	Status     int     `json:"status,omitempty"`
	Bytes      int     `json:"bytes"`
	Truncated  bool    `json:"truncated,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	Attempts   int     `json:"attempts"`
	Error      string  `json:"error,omitempty"`
	ErrorKind  string  `json:"error_kind,omitempty"`

	n    int  // input line number, for --ordered
	slot bool // holds one of the outstanding slots until written
}

type fetchOptions struct {
	concurrency, perHost, retries int
	rate, hostRate                float64
	timeout, grace                time.Duration
	maxBody                       int64
	userAgent, output             string
	inputs                        stringsFlag
	headers                       headerFlag
	follow, ordered, quiet        bool
}

func runFetch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var o fetchOptions
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, fetchUsage); fs.PrintDefaults() }
	for _, name := range []string{"c", "concurrency"} {
		fs.IntVar(&o.concurrency, name, 50, "requests in flight at most")
	}
	fs.IntVar(&o.perHost, "per-host", 0, "requests in flight per host at most (0: no cap beyond -c)")
	fs.Float64Var(&o.rate, "rate", 0, "request starts per second at most, all hosts together (0: no cap)")
	fs.Float64Var(&o.hostRate, "host-rate", 0, "request starts per second per host at most (0: no cap)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit of each attempt, body included")
	fs.IntVar(&o.retries, "retries", 2, "retries of a failed attempt (network errors, timeouts, 429, 5xx)")
	fs.Int64Var(&o.maxBody, "max-body", 10<<20, "bytes of a body read at most; longer bodies are cut")
	fs.Var(&o.headers, "H", "header 'Key: Value' to send (repeatable)")
	for _, name := range []string{"A", "user-agent"} {
		fs.StringVar(&o.userAgent, name, sluice.DefaultUserAgent, "User-Agent header")
	}
	fs.Var(&o.inputs, "i", "file of URLs, one per line; - for standard input (repeatable)")
	fs.BoolVar(&o.follow, "follow", false, "keep reading -i files as they grow, until interrupted")
	fs.StringVar(&o.output, "o", "", "write records to this file instead of standard output")
	fs.BoolVar(&o.ordered, "ordered", false, "write records in input order instead of completion order")
	fs.DurationVar(&o.grace, "grace", 10*time.Second, "time requests in flight get to finish after Ctrl+C")
	fs.BoolVar(&o.quiet, "q", false, "no progress bar and no summary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case o.concurrency < 1:
		return usageErrorf("fetch: -c must be at least 1")
	case o.perHost < 0, o.rate < 0, o.hostRate < 0, o.retries < 0:
		return usageErrorf("fetch: --per-host, --rate, --host-rate and --retries must not be negative")
	case o.timeout <= 0 || o.maxBody <= 0:
		return usageErrorf("fetch: --timeout and --max-body must be positive")
	case o.follow && len(o.inputs) == 0:
		return usageErrorf("fetch: --follow needs -i FILE")
	}

	for _, name := range o.inputs {
		if name == "-" {
			continue
		}
		if _, err := os.Stat(name); err != nil {
			return usageErrorf("fetch: -i: %v", err)
		}
	}
	out := stdout
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	sum, err := fetchAll(ctx, &o, fs.Args(), stdin, out, stderr)
	if err != nil {
		return err
	}
	if !o.quiet {
		sum.print(stderr)
	}
	if sum.interrupted {
		return &exitError{code: 130, err: errors.New("fetch: interrupted")}
	}
	return nil
}

// fetchSummary counts what a fetch run did.
type fetchSummary struct {
	records, ok, errs, skipped int
	statuses                   map[int]int // by class: 2, 3, 4, 5
	errKinds                   map[string]int
	bytes                      int64
	elapsed                    time.Duration
	interrupted                bool
}

func (s *fetchSummary) add(r *fetchRecord) {
	s.records++
	s.bytes += int64(r.Bytes)
	if r.Error != "" {
		s.errs++
		s.errKinds[r.ErrorKind]++
		return
	}
	s.ok++
	s.statuses[r.Status/100]++
}

func (s *fetchSummary) print(w io.Writer) {
	secs := s.elapsed.Seconds()
	fmt.Fprintf(w, "fetched %d URLs in %.2fs (%.1f/s): %d responses, %d errors, %s\n",
		s.records, secs, float64(s.records)/max(secs, 1e-9), s.ok, s.errs, humanBytes(s.bytes))
	var parts []string
	for c := 1; c <= 5; c++ {
		if n := s.statuses[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%dxx %d", c, n))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintln(w, "  status:", strings.Join(parts, ", "))
	}
	if len(s.errKinds) > 0 {
		fmt.Fprintln(w, "  errors:", byCount(s.errKinds))
	}
	if s.skipped > 0 {
		fmt.Fprintf(w, "  skipped %d blank or comment lines\n", s.skipped)
	}
	if s.interrupted {
		fmt.Fprintln(w, "  interrupted: every line read has its record")
	}
}

// byCount formats counts by kind as "kind n, kind n", most first (ties in
// name order).
func byCount[N int | int64](counts map[string]N) string {
	kinds := slices.Sorted(maps.Keys(counts))
	slices.SortStableFunc(kinds, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func toRecord(n int, url string, resp *sluice.Response, err error) *fetchRecord {
	r := &fetchRecord{URL: url, n: n}
	if err != nil {
		r.Error, r.ErrorKind = err.Error(), failure.Classify(err).String()
		var fe *sluice.FetchError
		if errors.As(err, &fe) {
			r.Attempts = fe.Attempts
			r.DurationMS = durMS(fe.Elapsed)
		}
		return r
	}
	r.FinalURL, r.Status, r.Bytes, r.Truncated = resp.FinalURL, resp.StatusCode, len(resp.Body), resp.Truncated
	r.DurationMS, r.Attempts = durMS(resp.Timings.Total), resp.Attempts
	return r
}

func durMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fetchAll runs the pipeline: one reader of the inputs, the Fetcher, and a
// single writer of records.
func fetchAll(ctx context.Context, o *fetchOptions, args []string, stdin io.Reader, out, stderr io.Writer) (*fetchSummary, error) {
	start := time.Now()
	fetcher := &sluice.Fetcher{
		MaxInFlight: o.concurrency, PerHost: o.perHost, Rate: o.rate, HostRate: o.hostRate,
		Timeout: o.timeout, Retries: o.retries, MaxBody: o.maxBody, UserAgent: o.userAgent,
		Header: o.headers.Header(),
	}
	// Records wait for the writer in a channel with room for every URL that
	// may be outstanding, so a completing worker never blocks on it.
	outstanding := 2*o.concurrency + 64
	slots := make(chan struct{}, outstanding)
	records := make(chan *fetchRecord, outstanding)
	sum := &fetchSummary{statuses: map[int]int{}, errKinds: map[string]int{}}

	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && !o.quiet && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("fetch"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("URLs"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}

	// The single writer.
	writeErr := make(chan error, 1)
	go func() {
		w := newJSONLines(out)
		for r := range records {
			w.write(r)
			sum.add(r)
			if bar != nil {
				bar.Describe(fmt.Sprintf("fetch: %d ok, %d errors", sum.ok, sum.errs))
				bar.Add(1)
			}
			if r.slot {
				<-slots
			}
			if len(records) == 0 {
				w.flush()
			}
		}
		writeErr <- w.flush()
	}()

	// In --ordered mode, a forwarder waits for futures in input order.
	type pendingFetch struct {
		n   int
		url string
		fut *sluice.Future[*sluice.Response]
	}
	var (
		ordered   chan pendingFetch
		forwarded sync.WaitGroup
		inFlight  sync.WaitGroup
	)
	if o.ordered {
		ordered = make(chan pendingFetch, outstanding)
		forwarded.Go(func() {
			for p := range ordered {
				resp, err := p.fut.Result()
				r := toRecord(p.n, p.url, resp, err)
				r.slot = true
				records <- r
			}
		})
	}

	lines := make(chan inputLine, 64)
	inputErrs := make(chan error, len(o.inputs)+1)
	skipped := readInputs(ctx, args, o.inputs, stdin, o.follow, lines, inputErrs)

	emitUnfetched := func(ln inputLine, why string) {
		records <- &fetchRecord{URL: ln.text, n: ln.n, Error: "sluice: not fetched: " + why,
			ErrorKind: failure.Cancelled.String()}
	}
	linesOpen, readerDone := true, false
intake:
	for linesOpen {
		select {
		case ln, ok := <-lines:
			if !ok {
				linesOpen, readerDone = false, true
				break intake
			}
			if ctx.Err() != nil {
				emitUnfetched(ln, "interrupted")
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				emitUnfetched(ln, "interrupted")
				break intake
			}
			fut, err := fetcher.SubmitCtx(ctx, ln.text)
			if err != nil {
				<-slots
				emitUnfetched(ln, "interrupted")
				continue
			}
			if o.ordered {
				ordered <- pendingFetch{ln.n, ln.text, fut}
				continue
			}
			inFlight.Add(1)
			fut.OnDone(func() {
				resp, err := fut.Result()
				r := toRecord(ln.n, ln.text, resp, err)
				r.slot = true
				records <- r
				inFlight.Done()
			})
		case <-ctx.Done():
			break intake
		}
	}
	if ctx.Err() != nil {
		sum.interrupted = true
		// Lines already read still get their records. A reader blocked on
		// a terminal has no line in hand, so a short quiet spell ends this.
		for linesOpen {
			select {
			case ln, ok := <-lines:
				if !ok {
					linesOpen, readerDone = false, true
					break
				}
				emitUnfetched(ln, "interrupted")
			case <-time.After(200 * time.Millisecond):
				linesOpen = false
			}
		}
		graceCtx, cancel := context.WithTimeout(context.Background(), o.grace)
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt)
		go func() {
			select {
			case <-again:
				cancel() // second Ctrl+C: cancel what is running
			case <-graceCtx.Done():
			}
		}()
		fetcher.Shutdown(graceCtx)
		signal.Stop(again)
		cancel()
	} else {
		fetcher.Close()
	}
	if ordered != nil {
		close(ordered)
	}
	forwarded.Wait()
	inFlight.Wait()
	close(records)
	err := <-writeErr
	if bar != nil {
		bar.Finish()
	}
	if readerDone {
		sum.skipped = *skipped // the reader has finished with it
	}
	sum.elapsed = time.Since(start)
	select {
	case ierr := <-inputErrs:
		if err == nil {
			err = fmt.Errorf("fetch: reading input: %w", ierr)
		}
	default:
	}
	return sum, err
}
