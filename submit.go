// This file holds the ways into a Fetcher: Submit and its forms, Fetch
// and Do, and Attempt for callers that schedule requests themselves.

package sluice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Submit queues a GET of rawURL and returns its future. It blocks while the
// queue is full. A bad URL gives a future already failed with a
// *[FetchError]; so does a Fetcher that is closed ([ErrPoolClosed]).
// [Future.Cancel] ends a fetch at once while it waits, for its start or
// for a retry (a Retry-After, a backoff, its host's pacing); one whose
// attempt is running ends when that attempt does.
func (f *Fetcher) Submit(rawURL string) *Future[*Response] {
	fut, _ := f.SubmitCtx(context.Background(), rawURL)
	return fut
}

// SubmitCtx is like [Fetcher.Submit] but waits for queue space only until
// ctx ends; it then returns ctx's error and no future. ctx bounds only the
// wait for space, not the fetch.
func (f *Fetcher) SubmitCtx(ctx context.Context, rawURL string) (*Future[*Response], error) {
	req, err := newGet(rawURL)
	if err != nil {
		return failedFuture[*Response](err), nil
	}
	return f.submit(ctx, req, rawURL)
}

// SubmitRequest queues req and returns its future, like [Fetcher.Submit].
// Cancelling req's context cancels the fetch; when its deadline passes,
// the fetch fails with a *[FetchError] wrapping context.DeadlineExceeded,
// whether it was running or waiting. The Fetcher's UserAgent and
// Header are added to a copy; req is not modified. A nil req, or one
// without a URL, gives a future already failed with [ErrBadURL].
func (f *Fetcher) SubmitRequest(req *http.Request) *Future[*Response] {
	fut, _ := f.SubmitRequestCtx(context.Background(), req)
	return fut
}

// SubmitRequestCtx is like [Fetcher.SubmitRequest] but waits for queue
// space only until ctx ends; it then returns ctx's error and no future.
func (f *Fetcher) SubmitRequestCtx(ctx context.Context, req *http.Request) (*Future[*Response], error) {
	raw, err := requestURL(req)
	if err != nil {
		return failedFuture[*Response](&FetchError{URL: raw, Err: err}), nil
	}
	return f.submit(ctx, req, raw)
}

// requestURL returns req's URL as a string, or a bad-URL error for a nil
// request or URL, which net/http would meet with a panic.
func requestURL(req *http.Request) (string, error) {
	switch {
	case req == nil:
		return "", fmt.Errorf("%w: nil request", ErrBadURL)
	case req.URL == nil:
		return "", fmt.Errorf("%w: request without a URL", ErrBadURL)
	}
	return req.URL.String(), nil
}

// newGet returns a GET of rawURL, or a *FetchError if the URL is bad.
func newGet(rawURL string) (*http.Request, error) {
	u, err := ParseURL(rawURL)
	if err == nil {
		var req *http.Request
		if req, err = http.NewRequest(http.MethodGet, u.String(), nil); err == nil {
			return req, nil
		}
	}
	return nil, &FetchError{URL: rawURL, Err: err}
}

// submit queues req; it returns ctx's error and no future if ctx ends
// before there is room.
func (f *Fetcher) submit(ctx context.Context, req *http.Request, rawURL string) (*Future[*Response], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkURL(req.URL); err != nil {
		return failedFuture[*Response](&FetchError{URL: rawURL, Err: err}), nil
	}
	f.init()
	req = f.prepare(req)
	j := &job{fut: newFuture[*Response](nil), req: req, url: rawURL, host: hostKey(req.URL)}
	if req.Context().Done() != nil {
		fut, rctx := j.fut, req.Context()
		j.stop = context.AfterFunc(rctx, func() { fut.cancelWith(endedErr(rawURL, rctx.Err()), rctx.Err()) })
	}
	// Only Close takes mu to write: a submission that cannot take it to
	// read comes while intake is closing, and fails at once. Waiting for
	// it, behind a Close that waits for a submitter blocked on the full
	// queue, held it (and SubmitCtx past its ctx) until the queue drained.
	if !f.mu.TryRLock() {
		j.fail(ErrPoolClosed)
		return j.fut, nil
	}
	defer f.mu.RUnlock()
	if f.closed {
		j.fail(ErrPoolClosed)
		return j.fut, nil
	}
	select {
	case f.in <- j:
		return j.fut, nil
	case <-ctx.Done():
		if j.stop != nil {
			j.stop()
		}
		return nil, ctx.Err()
	}
}

// endedErr is the error of a fetch whose request's context ended with err
// before it started: ErrCancelled for a cancellation, as [Future.Cancel]
// gives, and for a deadline the *FetchError that a fetch cut by it while
// it runs gets, so that errors.Is(err, context.DeadlineExceeded) holds
// however long the fetch had waited in its host's line.
func endedErr(rawURL string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &FetchError{URL: rawURL, Err: err}
	}
	return ErrCancelled
}

// prepare returns a deep copy of req with the Fetcher's Header and
// User-Agent, for a request that waits in the queue while its caller may
// change or reuse the one it gave. The copy's header is its own, so the
// defaults go into it in place.
func (f *Fetcher) prepare(req *http.Request) *http.Request {
	req = req.Clone(req.Context())
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	f.addDefaults(req.Header)
	return req
}

// withDefaults returns h with the Fetcher's Header and User-Agent added
// where h has none of its own: h itself if it lacks none, else a new map
// that shares h's values (which no one changes).
func (f *Fetcher) withDefaults(h http.Header) http.Header {
	ua := h["User-Agent"]
	missing := 0
	if len(ua) == 0 || ua[0] == "" {
		missing++
	}
	for k := range f.Header {
		if _, ok := h[k]; !ok {
			missing++
		}
	}
	if missing == 0 {
		return h
	}
	out := make(http.Header, len(h)+missing)
	for k, vs := range h {
		out[k] = vs
	}
	f.addDefaults(out)
	return out
}

// addDefaults adds to h, in place, the Fetcher's Header and User-Agent
// where h has none of its own.
func (f *Fetcher) addDefaults(h http.Header) {
	for k, vs := range f.Header {
		if _, ok := h[k]; !ok {
			h[k] = vs
		}
	}
	if ua := h["User-Agent"]; len(ua) == 0 || ua[0] == "" {
		h["User-Agent"] = f.userAgent
	}
}

// Fetch GETs rawURL through the Fetcher's limits and waits for the result.
// If ctx ends first, while the request waits for queue space or after, the
// fetch is cancelled and ctx's error returned.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Response, error) {
	fut, err := f.SubmitCtx(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	return waitOrCancel(ctx, fut)
}

// Do sends req through the Fetcher's limits and waits for the result, like
// [Fetcher.Fetch].
func (f *Fetcher) Do(ctx context.Context, req *http.Request) (*Response, error) {
	fut, err := f.SubmitRequestCtx(ctx, req)
	if err != nil {
		return nil, err
	}
	return waitOrCancel(ctx, fut)
}

func waitOrCancel(ctx context.Context, fut *Future[*Response]) (*Response, error) {
	resp, err := fut.Wait(ctx)
	if err != nil && ctx.Err() != nil && fut.State() < FutureDone {
		fut.Cancel()
	}
	return resp, err
}

// Attempt sends req once, at once, with the Fetcher's client, UserAgent,
// Header, Timeout and MaxBody, but outside its queue, its limits and its
// retries: it is for callers that schedule requests themselves, as the
// crawler does on the same host scheduler the Fetcher's dispatcher uses.
// A failure is a *[FetchError]. It does not change req, starts no
// goroutine of the Fetcher's and is safe for concurrent use.
func (f *Fetcher) Attempt(ctx context.Context, req *http.Request) (*Response, error) {
	raw, err := requestURL(req)
	if err == nil {
		err = checkURL(req.URL)
	}
	if err != nil {
		return nil, &FetchError{URL: raw, Err: err}
	}
	f.setup()
	start := time.Now()
	resp, err := f.attempt(ctx, req, raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // FetchError already names the URL
		}
		return nil, &FetchError{URL: raw, Attempts: 1, Elapsed: time.Since(start), Err: err}
	}
	resp.URL, resp.Attempts, resp.Elapsed = raw, 1, time.Since(start)
	return resp, nil
}
