// This file holds the fetch pipeline: one reader of the inputs, the
// Fetcher, and a single writer of records.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
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
	Worker     string  `json:"worker,omitempty"` // --queue: the process that wrote it
	kept

	n    int              // input line number, for --ordered
	id   string           // --queue: the message to acknowledge once written
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

// fetchAll runs the pipeline and returns its counts. The first failed
// write of a record stops it: intake ends and what is in flight is
// cancelled.
func fetchAll(ctx context.Context, e *env, o *fetchOptions, args []string, out io.Writer) (*fetchSummary, error) {
	start := time.Now()
	ctx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	r := newFetchRun(e, o)
	src, err := openSource(ctx, o)
	if err != nil {
		return nil, err
	}
	defer src.close()
	r.src = src
	writeErr := r.startWriter(ctx, out, stopRun)
	r.startForwarder()
	inputErrs := make(chan error, len(o.inputs)+1)
	skipped := new(int)
	if src.consumer != nil {
		go readQueue(ctx, e, src.consumer, o.follow, r.lines)
	} else {
		skipped = readInputs(ctx, args, o.inputs, e.stdin, o.follow, r.lines, inputErrs)
	}
	r.intake(ctx)
	r.drain(ctx)
	err = <-writeErr
	if r.status != nil {
		r.status.clear()
	}
	if r.readerDone {
		r.sum.skipped = *skipped // the reader has finished with it
	}
	r.sum.elapsed = time.Since(start)
	if err != nil {
		return r.sum, outputError(o, err, r.written.lines)
	}
	select {
	case ierr := <-inputErrs:
		return r.sum, fmt.Errorf("fetch: reading input: %w", ierr)
	default:
	}
	return r.sum, nil
}

// lineCounter counts the lines its writer took in full. Only the
// writer goroutine uses it until that goroutine has ended.
type lineCounter struct {
	w     io.Writer
	lines int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.lines += bytes.Count(p[:n], []byte{'\n'})
	return n, err
}

// outputError is the error of a run stopped by a failed write of its
// records, after written of them went out in full: it says so, so that
// the URLs left without a record are not lost unsaid, and, for a records
// file, how to fetch only those.
func outputError(o *fetchOptions, err error, written int) error {
	rest := "the input's other URLs have no record"
	if o.queue != "" {
		rest = "the queue hands the others' URLs out again"
	} else if fi, serr := os.Stat(o.out.output); serr == nil && fi.Mode().IsRegular() {
		rest += " (the same command with --resume fetches only those)"
	}
	return fmt.Errorf("fetch: writing records: %w: %s written in full; %s", err, plural(int64(written), "record"), rest)
}

// drain waits for the fetches to run out once the input is read, unless a
// signal or a failed write comes first, and closes the records channel
// when every record is in it.
func (r *fetchRun) drain(ctx context.Context) {
	closed := make(chan struct{})
	if ctx.Err() == nil {
		go func() { r.fetcher.Close(); close(closed) }()
		select {
		case <-closed:
		case <-ctx.Done():
		}
	} else {
		close(closed)
	}
	if ctx.Err() != nil {
		r.stopInterrupted(errors.Is(context.Cause(ctx), errFetchOutput))
	}
	<-closed
	if r.ordered != nil {
		close(r.ordered)
	}
	r.forwarded.Wait()
	r.inFlight.Wait()
	close(r.records)
}

// pendingFetch is a record to come, in --ordered mode, in its turn: a
// future, or a record already made (a line that was not fetched).
type pendingFetch struct {
	n    int
	url  string
	host string
	fut  *sluice.Future[*sluice.Response]
	rec  *fetchRecord
	id   string // --queue: its message
}

// fetchRun is one run of the fetch pipeline: the reader's lines go in,
// the Fetcher works, and a single writer writes the records.
type fetchRun struct {
	e       *env
	o       *fetchOptions
	fetcher *sluice.Fetcher
	room    *hostRoom  // a host's share of the waiting URLs
	waiting waitingSet // futures not yet done, to cancel those not started
	sum     *fetchSummary
	written *lineCounter // the records' lines written in full; the writer's until it ends
	status  *statusLine  // nil when no progress is shown
	src     *fetchSource

	lines     chan inputLine
	slots     chan struct{} // one per URL outstanding, released when written
	records   chan *fetchRecord
	ordered   chan pendingFetch // --ordered only
	forwarded sync.WaitGroup    // the --ordered forwarder
	inFlight  sync.WaitGroup    // futures not yet turned into records

	linesOpen, readerDone bool
}

func newFetchRun(e *env, o *fetchOptions) *fetchRun {
	h := &o.http
	waiting := waitingURLs(h.concurrency)
	// Records wait for the writer in a channel with room for every URL that
	// may be outstanding, so a completing worker never blocks on it.
	outstanding := waiting + 2*h.concurrency + 64
	return &fetchRun{
		e: e, o: o, sum: newFetchSummary(), room: newHostRoom(waiting),
		fetcher: &sluice.Fetcher{
			MaxInFlight: h.concurrency, PerHost: h.perHost, Rate: h.rate, HostRate: h.hostRate,
			Timeout: h.timeout, Retries: libRetries(h.retries), MaxBody: h.maxBody, UserAgent: h.userAgent,
			Header: o.client.header, Jar: o.client.jar, Proxy: o.client.proxy, TLSConfig: o.client.tls,
			HeaderAnyHost: h.headerAnyHost, MaxHeaderBytes: h.maxHeader, DenyPrivate: h.denyPrivate,
			// Without --save or --include a record carries the body's
			// size, never the body: it is counted and dropped as it streams.
			DiscardBody: !o.keep.active(),
			MaxQueue:    waiting,
		},
		lines:     make(chan inputLine, 64),
		slots:     make(chan struct{}, outstanding),
		records:   make(chan *fetchRecord, outstanding),
		linesOpen: true,
	}
}

// startWriter starts the single writer of records to out; its error
// arrives on the channel once records is closed and drained. At the first
// failed write it calls stop with errFetchOutput and goes on counting (the
// writes then do nothing), so no sender blocks.
func (r *fetchRun) startWriter(ctx context.Context, out io.Writer, stop context.CancelCauseFunc) <-chan error {
	if r.e.showProgress(r.o.out.quiet, out) {
		r.status = newStatusLine(r.e.stderr)
	}
	writeErr := make(chan error, 1)
	sum := r.sum
	// The counter goes between the writer and out, which showProgress
	// must see as it is: a terminal the records go to shows no status line.
	r.written = &lineCounter{w: out}
	go func() {
		w := newJSONLines(r.written)
		var acks []string // written, to acknowledge once flushed
		for rec := range r.records {
			if r.o.keep.active() {
				if err := r.o.keep.fill(&rec.kept, rec.URL, rec.resp); err != nil {
					w.fail(err)
				}
			}
			rec.resp = nil
			if w.write(rec) != nil {
				stop(errFetchOutput)
			}
			sum.add(rec)
			if rec.id != "" {
				acks = append(acks, rec.id)
			}
			if r.status != nil {
				r.status.show(int64(sum.records), "URLs", func() string {
					return fmt.Sprintf("fetch: %s: %s, %d failed", plural(int64(sum.records), "URL"), plural(int64(sum.ok), "response"), sum.errs)
				})
			}
			if rec.slot {
				<-r.slots
			}
			if len(r.records) == 0 {
				if w.flush() != nil {
					stop(errFetchOutput) // unacknowledged: another worker takes them over
				} else {
					acks = ackWritten(ctx, r.e, r.src, acks)
				}
			}
		}
		err := w.flush()
		if err == nil {
			ackWritten(ctx, r.e, r.src, acks)
		}
		writeErr <- err
	}()
	return writeErr
}

// startForwarder starts, in --ordered mode, the goroutine that waits for
// futures in input order.
func (r *fetchRun) startForwarder() {
	if !r.o.ordered {
		return
	}
	r.ordered = make(chan pendingFetch, cap(r.slots))
	r.forwarded.Go(func() {
		for p := range r.ordered {
			if p.rec != nil {
				r.records <- p.rec
				continue
			}
			resp, err := p.fut.Result()
			r.waiting.remove(p.fut)
			r.room.release(p.host)
			r.emit(toRecord(p.n, p.url, resp, err), p.id)
		}
	})
}

// emit hands the record of a fetch to the writer, holding its slot until
// written. A queue's URL that a stop cut short, never sent or cancelled in
// flight, gets no record and no acknowledgement: another worker takes it
// over after --claim-idle and fetches it in full, as a crawl shared on
// Redis hands back the pages a stop cuts short. Acknowledged with a
// "cancelled" record, it left the queue unfetched.
func (r *fetchRun) emit(rec *fetchRecord, id string) {
	if id != "" && failure.Classify(rec.err) == failure.Cancelled {
		<-r.slots
		r.sum.left.Add(1)
		return
	}
	rec.slot, rec.id, rec.Worker = true, id, r.src.worker
	r.records <- rec
}

// unfetched writes the record of a line that is not fetched, in its turn
// in --ordered mode.
func (r *fetchRun) unfetched(ln inputLine, err error) {
	if ln.id != "" && errors.Is(err, errNotFetched) {
		r.sum.left.Add(1) // left in the queue: another worker takes it over
		return
	}
	rec := &fetchRecord{URL: sluice.RedactURL(ln.text), n: ln.n, Error: err.Error(), ErrorKind: errKind(err), err: err,
		id: ln.id, Worker: r.src.worker}
	if r.ordered != nil {
		r.ordered <- pendingFetch{n: ln.n, url: ln.text, rec: rec}
		return
	}
	r.records <- rec
}

// intake submits each line read until the reader is done or ctx ends.
func (r *fetchRun) intake(ctx context.Context) {
	for r.linesOpen {
		select {
		case ln, ok := <-r.lines:
			if !ok {
				r.linesOpen, r.readerDone = false, true
				return
			}
			if !r.submit(ctx, ln) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// submit fetches one line, or writes why it is not fetched; it returns
// false when ctx ended while it waited for a slot.
func (r *fetchRun) submit(ctx context.Context, ln inputLine) bool {
	if r.o.done != nil && r.o.done.take(ln.text) {
		r.sum.resumed++ // recorded by the run this one resumes
		if r.o.failed.take(ln.text) {
			r.sum.resumedErrs++
		}
		return true
	}
	if ln.err != nil {
		r.unfetched(ln, ln.err)
		return true
	}
	if err := checkURL(ln.text); err != nil {
		r.unfetched(ln, err)
		return true
	}
	if ctx.Err() != nil {
		r.unfetched(ln, errNotFetched)
		return true
	}
	// A host at its share of the waiting room holds intake here; the
	// other half of the room stays for the other hosts.
	host := hostKey(ln.text)
	if !r.room.acquire(ctx, host) {
		r.unfetched(ln, errNotFetched)
		return false
	}
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		r.room.release(host)
		r.unfetched(ln, errNotFetched)
		return false
	}
	fut, err := r.fetcher.SubmitCtx(ctx, ln.text)
	if err != nil {
		<-r.slots
		r.room.release(host)
		r.unfetched(ln, errNotFetched)
		return true
	}
	r.waiting.add(fut)
	if r.ordered != nil {
		r.ordered <- pendingFetch{n: ln.n, url: ln.text, host: host, fut: fut, id: ln.id}
		return true
	}
	r.inFlight.Add(1)
	fut.OnDone(func() {
		resp, err := fut.Result()
		r.waiting.remove(fut)
		r.room.release(host)
		r.emit(toRecord(ln.n, ln.text, resp, err), ln.id)
		r.inFlight.Done()
	})
	return true
}

// stopInterrupted cancels the URLs still waiting, writes records for the
// lines already read and gives the requests in flight the grace period (a
// second signal cuts it short); after a failed write, none. The Fetcher
// shuts down while the lines get their records, so --ordered, which waits
// for the futures before them, cannot hold the shutdown up.
func (r *fetchRun) stopInterrupted(outputFailed bool) {
	r.sum.interrupted = !outputFailed
	grace := r.o.grace
	if outputFailed {
		grace = 0
	}
	r.waiting.cancelPending() // the grace period is for requests started
	graceCtx, cancel := context.WithTimeout(context.Background(), grace)
	stop := r.e.onAbort(cancel)
	shut := make(chan struct{})
	go func() { r.fetcher.Shutdown(graceCtx); close(shut) }()
	if r.linesOpen {
		r.readerDone = drainLines(r.lines, func(ln inputLine) { r.unfetched(ln, errNotFetched) })
		r.linesOpen = false
	}
	<-shut
	stop()
	cancel()
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
