// This file holds what a crawl does with failures, by the one failure
// policy (internal/failure): which are retried, after how long, and how
// they are named in Stats.Errors.

package crawler

import (
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
)

// maxRetryWait caps the wait before a page is fetched again; a Retry-After
// asking for more ends the page with the response it got.
const maxRetryWait = time.Minute

// retryPause reports whether a page fetch that ended with resp or err is
// to be tried again, and how long its host is to be left alone (the
// Retry-After of a 429 or 503, 0 otherwise).
func retryPause(resp *sluice.Response, err error) (pause time.Duration, retry bool) {
	if err != nil {
		return 0, failure.Retryable(err)
	}
	if !failure.RetryableStatus(resp.StatusCode) {
		return 0, false
	}
	pause = failure.StatusPause(resp.StatusCode, resp.Header, time.Now())
	return pause, pause <= maxRetryWait
}

// retry sends j back to the frontier, due after the backoff or the pause
// the server asked for, whichever is longer.
func (p *pipeline) retry(j *job, pause time.Duration) {
	e := j.e
	e.Attempts++
	wait, _ := failure.Wait(e.Attempts, pause, maxRetryWait)
	e.NotBefore = time.Now().Add(wait).UnixNano()
	j.e = e
	p.s.results <- &result{j: j, retry: true, pause: pause}
}

// errKind names the kind of a failure for Stats.Errors and records.
func errKind(err error) string { return failure.Classify(err).String() }
