// This file holds a fetch on its way through the Fetcher (job) and the
// workers that run its attempts.

package sluice

import (
	"errors"
	"net/http"
	"net/url"
	"time"
)

// job is one fetch on its way through the dispatcher.
type job struct {
	fut      *Future[*Response]
	req      *http.Request
	url      string
	host     string
	attempts int
	first    time.Time
	retryAt  time.Time   // set by a worker when the attempt should be retried
	holdTill time.Time   // set with retryAt when the server asked its host to wait
	stop     func() bool // detaches the request's context, if any
	unwatch  func() bool // detaches the dispatcher from the task's context
}

// fail completes the job's future with err wrapped in a FetchError.
func (j *job) fail(err error) {
	var elapsed time.Duration
	if !j.first.IsZero() {
		elapsed = time.Since(j.first)
	}
	if j.stop != nil {
		j.stop()
	}
	if j.unwatch != nil {
		j.unwatch()
	}
	j.fut.settle(nil, &FetchError{URL: j.url, Attempts: j.attempts, Elapsed: elapsed, Err: err})
}

func (f *Fetcher) worker() {
	defer f.workers.Done()
	for j := range f.work {
		if j.first.IsZero() {
			j.first = time.Now()
		}
		j.attempts++
		resp, err := f.attempt(j.fut.taskContext(), j.req, "")
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // FetchError already names the URL
		}
		if wait, pause, ok := f.retryWait(j, resp, err); ok {
			now := time.Now()
			j.retryAt, j.holdTill = now.Add(wait), now.Add(pause)
			f.done <- j
			continue
		}
		if err != nil {
			j.fail(err)
		} else {
			if j.stop != nil {
				j.stop()
			}
			resp.URL, resp.Attempts, resp.Elapsed = j.url, j.attempts, time.Since(j.first)
			j.fut.settle(resp, nil)
		}
		f.done <- j
	}
}
