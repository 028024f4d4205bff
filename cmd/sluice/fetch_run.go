// This file holds the fetch pipeline: one reader of the inputs, the
// Fetcher, and a single writer of records.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sluicehq/sluice"
)

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
	kept

	n    int              // input line number, for --ordered
	slot bool             // holds one of the outstanding slots until written
	err  error            // the error behind Error, for the summary
	resp *sluice.Response // for --save and --include, until written
}

func toRecord(n int, url string, resp *sluice.Response, err error) *fetchRecord {
	r := &fetchRecord{URL: sluice.RedactURL(url), n: n}
	var fe *sluice.FetchError
	if errors.Is(err, sluice.ErrCancelled) && (!errors.As(err, &fe) || fe.Attempts == 0) {
		err = errNotFetched // cancelled while waiting for its turn: never sent
	}
	if err != nil {
		r.Error, r.ErrorKind, r.err = err.Error(), errKind(err), err
		var fe *sluice.FetchError
		if errors.As(err, &fe) {
			r.Attempts = fe.Attempts
			r.DurationMS = durMS(fe.Elapsed)
		}
		return r
	}
	r.FinalURL, r.Status, r.Bytes, r.Truncated, r.resp = resp.FinalURL, resp.StatusCode, int(resp.BodySize), resp.Truncated, resp
	r.DurationMS, r.Attempts = durMS(resp.Elapsed), resp.Attempts
	return r
}

func durMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// errFetchOutput ends a fetch run whose records can no longer be written.
var errFetchOutput = errors.New("fetch: output failed")

// pendingFetch is a record to come in --ordered mode: a future, or a
// record already made (a line that was not fetched).
type pendingFetch struct {
	n    int
	url  string
	host string
	fut  *sluice.Future[*sluice.Response]
	rec  *fetchRecord
}

// fetchAll runs the pipeline and returns its counts. The first failed
// write of a record stops it: intake ends and what is in flight is
// cancelled.
func fetchAll(ctx context.Context, e *env, o *fetchOptions, args []string, out io.Writer) (*fetchSummary, error) {
	start := time.Now()
	ctx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	h := &o.http
	fetcher := &sluice.Fetcher{
		MaxInFlight: h.concurrency, PerHost: h.perHost, Rate: h.rate, HostRate: h.hostRate,
		Timeout: h.timeout, Retries: libRetries(h.retries), MaxBody: h.maxBody, UserAgent: h.userAgent,
		Header: o.client.header, Jar: o.client.jar, Proxy: o.client.proxy, TLSConfig: o.client.tls,
		HeaderAnyHost: h.headerAnyHost, MaxHeaderBytes: h.maxHeader, DenyPrivate: h.denyPrivate,
		// Without --save or --include a record carries the body's size,
		// never the body: it is counted and dropped as it streams.
		DiscardBody: !o.keep.active(),
		MaxQueue:    waitingURLs(h.concurrency),
	}
	room := newHostRoom(fetcher.MaxQueue)
	var waiting waitingSet
	// Records wait for the writer in a channel with room for every URL that
	// may be outstanding, so a completing worker never blocks on it.
	outstanding := fetcher.MaxQueue + 2*h.concurrency + 64
	slots := make(chan struct{}, outstanding)
	records := make(chan *fetchRecord, outstanding)
	sum := newFetchSummary()
	var status *statusLine
	if e.showProgress(o.out.quiet, out) {
		status = newStatusLine(e.stderr)
	}
	writeErr := make(chan error, 1)
	go func() { writeErr <- writeFetchRecords(out, records, slots, sum, status, &o.keep, stopRun) }()

	// In --ordered mode, a forwarder waits for futures in input order.
	var (
		ordered   chan pendingFetch
		forwarded sync.WaitGroup
		inFlight  sync.WaitGroup
	)
	if o.ordered {
		ordered = make(chan pendingFetch, outstanding)
		forwarded.Go(func() {
			for p := range ordered {
				if p.rec != nil {
					records <- p.rec
					continue
				}
				resp, err := p.fut.Result()
				waiting.remove(p.fut)
				room.release(p.host)
				r := toRecord(p.n, p.url, resp, err)
				r.slot = true
				records <- r
			}
		})
	}

	lines := make(chan inputLine, 64)
	inputErrs := make(chan error, len(o.inputs)+1)
	skipped := readInputs(ctx, args, o.inputs, e.stdin, o.follow, lines, inputErrs)

	// A line that is not fetched gets its record in its turn.
	emitUnfetched := func(ln inputLine, err error) {
		r := &fetchRecord{URL: sluice.RedactURL(ln.text), n: ln.n, Error: err.Error(), ErrorKind: errKind(err), err: err}
		if ordered != nil {
			ordered <- pendingFetch{n: ln.n, url: ln.text, rec: r}
			return
		}
		records <- r
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
			if ln.err != nil {
				emitUnfetched(ln, ln.err)
				continue
			}
			if err := checkURL(ln.text); err != nil {
				emitUnfetched(ln, err)
				continue
			}
			if ctx.Err() != nil {
				emitUnfetched(ln, errNotFetched)
				continue
			}
			// A host at its share of the waiting room holds intake here;
			// the other half of the room stays for the other hosts.
			host := hostKey(ln.text)
			if !room.acquire(ctx, host) {
				emitUnfetched(ln, errNotFetched)
				break intake
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				room.release(host)
				emitUnfetched(ln, errNotFetched)
				break intake
			}
			fut, err := fetcher.SubmitCtx(ctx, ln.text)
			if err != nil {
				<-slots
				room.release(host)
				emitUnfetched(ln, errNotFetched)
				continue
			}
			waiting.add(fut)
			if o.ordered {
				ordered <- pendingFetch{n: ln.n, url: ln.text, host: host, fut: fut}
				continue
			}
			inFlight.Add(1)
			fut.OnDone(func() {
				resp, err := fut.Result()
				waiting.remove(fut)
				room.release(host)
				r := toRecord(ln.n, ln.text, resp, err)
				r.slot = true
				records <- r
				inFlight.Done()
			})
		case <-ctx.Done():
			break intake
		}
	}
	// With the input read, the fetches run out unless a signal or a failed
	// write comes first.
	closed := make(chan struct{})
	if ctx.Err() == nil {
		go func() { fetcher.Close(); close(closed) }()
		select {
		case <-closed:
		case <-ctx.Done():
		}
	} else {
		close(closed)
	}
	if ctx.Err() != nil {
		// Interrupted, requests in flight get the grace period; after a
		// failed write, none. The Fetcher shuts down while the lines
		// already read get their records, so --ordered, which waits for
		// the futures before them, cannot hold the shutdown up.
		outputFailed := errors.Is(context.Cause(ctx), errFetchOutput)
		sum.interrupted = !outputFailed
		grace := o.grace
		if outputFailed {
			grace = 0
		}
		waiting.cancelPending() // the grace period is for requests started
		graceCtx, cancel := context.WithTimeout(context.Background(), grace)
		stop := e.onAbort(cancel) // a second signal cancels what is running
		shut := make(chan struct{})
		go func() { fetcher.Shutdown(graceCtx); close(shut) }()
		if linesOpen {
			readerDone = drainLines(lines, func(ln inputLine) { emitUnfetched(ln, errNotFetched) })
		}
		<-shut
		stop()
		cancel()
	}
	<-closed
	if ordered != nil {
		close(ordered)
	}
	forwarded.Wait()
	inFlight.Wait()
	close(records)
	err := <-writeErr
	if status != nil {
		status.clear()
	}
	if readerDone {
		sum.skipped = *skipped // the reader has finished with it
	}
	sum.elapsed = time.Since(start)
	if err != nil {
		return sum, fmt.Errorf("fetch: writing records: %w", err)
	}
	select {
	case ierr := <-inputErrs:
		return sum, fmt.Errorf("fetch: reading input: %w", ierr)
	default:
	}
	return sum, nil
}

// drainLines hands every line still coming to emit, and reports whether
// the reader finished. A reader blocked on a terminal has no line in hand,
// so a short quiet spell ends the wait.
func drainLines(lines <-chan inputLine, emit func(inputLine)) (readerDone bool) {
	for {
		select {
		case ln, ok := <-lines:
			if !ok {
				return true
			}
			emit(ln)
		case <-time.After(200 * time.Millisecond):
			return false
		}
	}
}

// writeFetchRecords is the single writer: it writes and counts each record
// and frees its slot. At the first failed write it calls stop with
// errFetchOutput and goes on counting (the writes then do nothing), so no
// sender blocks; it returns the write error.
func writeFetchRecords(out io.Writer, records <-chan *fetchRecord, slots <-chan struct{}, sum *fetchSummary,
	status *statusLine, keep *keepFlags, stop context.CancelCauseFunc) error {
	w := newJSONLines(out)
	check := func(err error) {
		if err != nil {
			stop(errFetchOutput)
		}
	}
	for r := range records {
		if keep.active() {
			if err := keep.fill(&r.kept, r.URL, r.resp); err != nil {
				w.fail(err)
			}
		}
		r.resp = nil
		check(w.write(r))
		sum.add(r)
		if status != nil {
			status.show(int64(sum.records), "URLs", func() string {
				return fmt.Sprintf("fetch: %s: %s, %d failed", plural(int64(sum.records), "URL"), plural(int64(sum.ok), "response"), sum.errs)
			})
		}
		if r.slot {
			<-slots
		}
		if len(records) == 0 {
			check(w.flush())
		}
	}
	return w.flush()
}
