// This file holds one HTTP attempt of a fetch and the retry decisions
// around it.

package sluice

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"time"
)

// attempt sends req once and reads the body up to maxBody bytes.
func (f *Fetcher) attempt(ctx context.Context, req *http.Request) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()

	// Trace hooks may run on the transport's dialing goroutines, even after
	// Do returns, so the timings are guarded.
	var (
		mu                            sync.Mutex
		t                             Timings
		dnsStart, connStart, tlsStart time.Time
	)
	start := time.Now()
	at := func(fn func()) { mu.Lock(); fn(); mu.Unlock() }
	trace := &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { at(func() { dnsStart = time.Now() }) },
		DNSDone:              func(httptrace.DNSDoneInfo) { at(func() { t.DNS = time.Since(dnsStart) }) },
		ConnectStart:         func(string, string) { at(func() { connStart = time.Now() }) },
		ConnectDone:          func(string, string, error) { at(func() { t.Connect = time.Since(connStart) }) },
		TLSHandshakeStart:    func() { at(func() { tlsStart = time.Now() }) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { at(func() { t.TLS = time.Since(tlsStart) }) },
		GotFirstResponseByte: func() { at(func() { t.FirstByte = time.Since(start) }) },
	}
	req = req.Clone(httptrace.WithClientTrace(ctx, trace))
	if req.Body != nil && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req.Body = body
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, truncated, err := readCapped(resp.Body, f.maxBody())
	// Closing an unfinished body makes the transport drop the connection
	// instead of draining an endless or huge body.
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	t.Total = time.Since(start)
	return &Response{
		FinalURL:   resp.Request.URL.String(),
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		Body:       body,
		Truncated:  truncated,
		Timings:    t,
	}, nil
}

// readCapped reads r to the end or to limit bytes, reporting whether there
// was more. The buffer grows with what arrives, not with the limit.
func readCapped(r io.Reader, limit int64) ([]byte, bool, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(body)) > limit {
		return body[:limit], true, nil
	}
	return body, false, err
}

// retryable reports whether an attempt's outcome is worth another try and,
// for 429 and 503, how long the server asked to wait.
func retryable(resp *Response, err error) (retry bool, after time.Duration) {
	if err != nil {
		// A cancelled fetch is over; timeouts and network errors are not.
		return !errors.Is(err, context.Canceled), 0
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true, retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusInternalServerError:
		return true, 0
	}
	return false, 0
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff returns the wait before retry n (1-based): exponential from
// 250 ms with jitter in [d/2, d), capped at max.
func backoff(n int, max time.Duration) time.Duration {
	d := 250 * time.Millisecond << min(n-1, 16)
	if d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

// idempotent reports whether req may be sent again safely.
func idempotent(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}
