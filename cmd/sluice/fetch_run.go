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
	Worker     string  `json:"worker,omitempty"` // --queue: the process that wrote it
	kept

	n    int              // input line number, for --ordered
	id   string           // --queue: the message to acknowledge once written
	slot bool             // holds one of the outstanding slots until written
	err  error            // the error behind Error, for the summary
	resp *sluice.Response // for --save and --include, until written
}

func toRecord(n int, url string, resp *sluice.Response, err error) *fetchRecord {
	r := &fetchRecord{URL: url, n: n}
	if err != nil {
		r.Error, r.ErrorKind, r.err = err.Error(), errKind(err), err
		var fe *sluice.FetchError
		if errors.As(err, &fe) {
			r.Attempts = fe.Attempts
			r.DurationMS = durMS(fe.Elapsed)
		}
		return r
	}
	r.FinalURL, r.Status, r.Bytes, r.Truncated, r.resp = resp.FinalURL, resp.StatusCode, len(resp.Body), resp.Truncated, resp
	r.DurationMS, r.Attempts = durMS(resp.Elapsed), resp.Attempts
	return r
}

func durMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fetchAll runs the pipeline and returns its counts.
func fetchAll(ctx context.Context, e *env, o *fetchOptions, args []string, out io.Writer) (*fetchSummary, error) {
	start := time.Now()
	h := &o.http
	fetcher := &sluice.Fetcher{
		MaxInFlight: h.concurrency, PerHost: h.perHost, Rate: h.rate, HostRate: h.hostRate,
		Timeout: h.timeout, Retries: libRetries(h.retries), MaxBody: h.maxBody, UserAgent: h.userAgent,
		Header: o.client.header, Jar: o.client.jar, Proxy: o.client.proxy, TLSConfig: o.client.tls,
	}
	// Records wait for the writer in a channel with room for every URL that
	// may be outstanding, so a completing worker never blocks on it.
	outstanding := 2*h.concurrency + 64
	slots := make(chan struct{}, outstanding)
	records := make(chan *fetchRecord, outstanding)
	sum := newFetchSummary()

	var status *statusLine
	if e.showProgress(o.out.quiet, out) {
		status = newStatusLine(e.stderr)
	}
	writeErr := make(chan error, 1)
	src, err := openSource(ctx, o)
	if err != nil {
		return nil, err
	}
	defer src.close()
	go func() {
		w := newJSONLines(out)
		var acks []string // written, to acknowledge at the next flush
		for r := range records {
			if o.keep.active() {
				if err := o.keep.fill(&r.kept, r.URL, r.resp); err != nil {
					w.fail(err)
				}
			}
			r.resp = nil
			w.write(r)
			sum.add(r)
			if r.id != "" {
				acks = append(acks, r.id)
			}
			if status != nil {
				status.show(int64(sum.records), "URLs", func() string {
					return fmt.Sprintf("fetch: %s: %s, %d failed", plural(int64(sum.records), "URL"), plural(int64(sum.ok), "response"), sum.errs)
				})
			}
			if r.slot {
				<-slots
			}
			if len(records) == 0 {
				acks = ackWritten(ctx, e, w, src, acks)
			}
		}
		err := w.flush()
		ackWritten(ctx, e, w, src, acks)
		writeErr <- err
	}()

	// In --ordered mode, a forwarder waits for futures in input order.
	type pendingFetch struct {
		ln  inputLine
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
				r := toRecord(p.ln.n, p.ln.text, resp, err)
				r.slot, r.id, r.Worker = true, p.ln.id, src.worker
				records <- r
			}
		})
	}

	lines := make(chan inputLine, 64)
	inputErrs := make(chan error, len(o.inputs)+1)
	skipped := new(int)
	if src.consumer != nil {
		go readQueue(ctx, e, src.consumer, o.follow, lines)
	} else {
		skipped = readInputs(ctx, args, o.inputs, e.stdin, o.follow, lines, inputErrs)
	}

	emitUnfetched := func(ln inputLine, err error) {
		if ln.id != "" && errors.Is(err, errNotFetched) {
			return // left in the queue: another worker takes it over
		}
		records <- &fetchRecord{URL: ln.text, n: ln.n, Error: err.Error(), ErrorKind: errKind(err), err: err, id: ln.id, Worker: src.worker}
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
			if err := checkURL(ln.text); err != nil {
				emitUnfetched(ln, err)
				continue
			}
			if ctx.Err() != nil {
				emitUnfetched(ln, errNotFetched)
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				emitUnfetched(ln, errNotFetched)
				break intake
			}
			fut, err := fetcher.SubmitCtx(ctx, ln.text)
			if err != nil {
				<-slots
				emitUnfetched(ln, errNotFetched)
				continue
			}
			if o.ordered {
				ordered <- pendingFetch{ln, fut}
				continue
			}
			inFlight.Add(1)
			fut.OnDone(func() {
				resp, err := fut.Result()
				r := toRecord(ln.n, ln.text, resp, err)
				r.slot, r.id, r.Worker = true, ln.id, src.worker
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
				emitUnfetched(ln, errNotFetched)
			case <-time.After(200 * time.Millisecond):
				linesOpen = false
			}
		}
		graceCtx, cancel := context.WithTimeout(context.Background(), o.grace)
		stop := e.onAbort(cancel) // a second signal cancels what is running
		fetcher.Shutdown(graceCtx)
		stop()
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
	err = <-writeErr
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
