// This file holds the crawl run shared by sluice crawl and sluice demo:
// the crawler, a single writer of records, the status line and the summary.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/crawler"
)

// crawlRecord is one output line of sluice crawl.
type crawlRecord struct {
	URL         string  `json:"url"`
	Status      int     `json:"status,omitempty"`
	Depth       int     `json:"depth"`
	Parent      string  `json:"parent,omitempty"`
	Links       int     `json:"links"`
	Bytes       int     `json:"bytes"`
	Truncated   bool    `json:"truncated,omitempty"`
	DurationMS  float64 `json:"duration_ms"`
	ContentType string  `json:"content_type,omitempty"`
	Title       string  `json:"title,omitempty"`
	Skipped     string  `json:"skipped,omitempty"`   // "robots.txt" for a URL robots.txt denies
	Unchanged   bool    `json:"unchanged,omitempty"` // a recrawl's 304, or the last pass's answer again
	Error       string  `json:"error,omitempty"`
	ErrorKind   string  `json:"error_kind,omitempty"`
	Worker      string  `json:"worker,omitempty"` // --redis: the process that wrote it
	kept

	err  error            // the error behind Error, for the summary
	resp *sluice.Response // for --save and --include, until written
	done chan error       // with --state: told when the record is written
	// key is the URL as the crawl knows it, which the state dir marks
	// recorded: URL has its password redacted, and a mark under it
	// matched no page fetched again after a crash.
	key string
	// stored: with --state, the visit has written the record to the
	// records file itself; the writer only counts it.
	stored bool
	// written, when not nil, is closed once the record has been handed to
	// the operating system (flushed), for a visit that waits for it.
	written chan struct{}
}

func toCrawlRecord(p *crawler.Page) *crawlRecord {
	r := &crawlRecord{URL: sluice.RedactURL(p.URL), key: p.URL, Depth: p.Depth, Parent: sluice.RedactURL(p.Parent), Links: len(p.Links),
		DurationMS: durMS(p.Duration), ContentType: p.ContentType, Title: p.Title}
	if p.Response != nil {
		r.Status, r.Bytes, r.Truncated, r.resp = p.Response.StatusCode, len(p.Response.Body), p.Response.Truncated, p.Response
	}
	switch {
	case errors.Is(p.Err, crawler.ErrRobots) && !errors.Is(p.Err, crawler.ErrRobotsUnreachable):
		r.Skipped = "robots.txt"
	case p.Err != nil:
		r.Error, r.ErrorKind, r.err = p.Err.Error(), errKind(p.Err), p.Err
	}
	return r
}

// errOutputFailed stops a crawl whose records cannot be written.
var errOutputFailed = errors.New("crawl: output failed")

// crawlRun crawls from seeds, writing records to out through a single
// writer, and returns the run's exit error. A seed that is not an http or
// https URL gets its record here, with the message fetch and load give.
func crawlRun(ctx context.Context, e *env, o *crawlOptions, seeds []string, out io.Writer) error {
	c := &o.c
	c.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sum := newCrawlSummary()
	var status *statusLine
	if e.showProgress(o.out.quiet, out) {
		status = newStatusLine(e.stderr)
	}
	records := make(chan *crawlRecord, 256)
	writeFailed := make(chan struct{}) // closed when the output fails
	writeErr := o.startWriter(ctx, out, records, sum, status, writeFailed)
	d := o.durable

	good := o.checkSeeds(ctx, seeds, records)
	worker := ""
	if o.redis.on() {
		all, closeShared, err := shareCrawl(ctx, o, good)
		if err != nil {
			close(records)
			<-writeErr
			return err
		}
		defer closeShared()
		good, worker = all, o.redis.name()
	}
	stopAbort := e.onAbort(c.Abort) // a second signal cuts the grace period short
	visit := recordVisit(records, writeFailed, worker)
	if d != nil {
		visit = d.crawlOn(ctx, c, o.keep.active(), records)
	}
	err := c.Crawl(ctx, good, visit)
	stopAbort()
	close(records)
	werr := <-writeErr
	if status != nil {
		status.clear()
	}
	st := c.Stats()
	if !o.out.quiet {
		sum.print(e.stderr, &st)
		if d != nil {
			d.printState(e.stderr, st.Fetched, st.Queued)
		}
	}
	switch {
	case werr != nil:
		return fmt.Errorf("crawl: writing records: %w", werr)
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return errInterrupted(o.label) // "crawl", or "demo"
	case err != nil:
		return fmt.Errorf("crawl: %w", err)
	}
	if d != nil {
		return d.failOn(o.out.failOn, sum.records-sum.denied, sum.errs)
	}
	return o.out.failOn.check("crawl", sum.records-sum.denied, sum.errs, "URL")
}

// checkSeeds returns the seeds that are URLs; each one that is not gets its
// error record, unless the run this one resumes recorded it already.
func (o *crawlOptions) checkSeeds(ctx context.Context, seeds []string, records chan<- *crawlRecord) []string {
	var good []string
	for _, s := range seeds {
		if err := checkURL(s); err != nil {
			if o.durable != nil && o.durable.seedRecorded(ctx, s) {
				continue // recorded by the run this one resumes
			}
			// The record shows no password; its key in a state dir is the seed.
			records <- &crawlRecord{URL: sluice.RedactURL(s), key: s, Error: err.Error(), ErrorKind: errKind(err), err: err}
			continue
		}
		good = append(good, s)
	}
	return good
}

// recordVisit returns the visit function of a crawl without --state: it
// hands each page's record to the writer, and stops the crawl once the
// output has failed. worker names the process in a shared crawl.
func recordVisit(records chan<- *crawlRecord, failed <-chan struct{}, worker string) func(*crawler.Page) error {
	return func(p *crawler.Page) error {
		select {
		case <-failed:
			return errOutputFailed
		default:
		}
		r := toCrawlRecord(p)
		r.Worker = worker
		if worker != "" {
			// A shared crawl marks the URL done in Redis once visit
			// returns: its record must be out of this process first, so
			// that a SIGKILL cannot leave a URL done and unrecorded.
			r.written = make(chan struct{})
		}
		records <- r
		if r.written != nil {
			<-r.written
		}
		return nil
	}
}

// startWriter starts the single writer of records to out, or with --state
// to the state's records file (its committer commits them). It closes
// failed when the output fails, and sends its error once records is closed
// and drained.
func (o *crawlOptions) startWriter(ctx context.Context, out io.Writer, records <-chan *crawlRecord, sum *crawlSummary, status *statusLine, failed chan struct{}) <-chan error {
	writeErr := make(chan error, 1)
	d := o.durable
	go func() {
		w := newJSONLines(out)
		for r := range records {
			if o.keep.active() {
				if err := o.keep.fill(&r.kept, r.URL, r.resp); err != nil {
					w.fail(err)
				}
			}
			r.resp = nil
			var err error
			if d != nil {
				if !r.stored {
					err = d.write(r) // the committer makes it durable
				}
			} else {
				err = w.write(r)
			}
			sum.add(r)
			if r.done != nil {
				r.done <- err
			}
			if d == nil && (len(records) == 0 || r.written != nil) {
				err = errors.Join(err, w.flush())
			}
			if r.written != nil {
				close(r.written)
			}
			if err != nil && failed != nil {
				close(failed) // stop the crawl: its records have nowhere to go
				failed = nil
			}
			if status != nil {
				status.show(sum.records, "URLs", func() string { return o.statusText(sum) })
			}
		}
		if d != nil {
			writeErr <- d.out.Commit(ctx)
			return
		}
		writeErr <- w.flush()
	}()
	return writeErr
}

// statusText is the status line of a crawl: the records written so far
// and what the crawler holds.
func (o *crawlOptions) statusText(sum *crawlSummary) string {
	st := o.c.Stats()
	return fmt.Sprintf("%s: %s, %d failed, %d queued, %d in flight",
		o.label, plural(sum.records, "URL"), sum.errs, st.Queued, st.InFlight)
}
