// This file holds one HTTP attempt of a fetch and the retry decisions
// around it.

package sluice

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
)

// attempt sends req once and reads the body up to maxBody bytes. raw is
// req.URL.String() if the caller has it, or "".
func (f *Fetcher) attempt(ctx context.Context, req *http.Request, raw string) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	tt := &traceTimings{start: time.Now()}
	// A shallow copy, as http.Client makes: the transport reads the
	// header and URL and changes neither. Its header is the caller's, or
	// a new map where the Fetcher adds headers to it.
	req = req.WithContext(httptrace.WithClientTrace(ctx, tt.trace()))
	req.Header = f.withDefaults(req.Header)
	if h := req.Header.Get("Host"); h != "" && (req.Host == "" || req.Host == req.URL.Host) {
		// net/http sends req.Host and drops a Host header; one given as a
		// header (Header, curl's -H 'Host: x') names the virtual host,
		// unless the caller set req.Host itself.
		req.Host = h
	}
	if req.Body != nil && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req.Body = body
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, tt.answerError(headerTooLarge(err, f.maxHeaderBytes()))
	}
	body, size, truncated, err := f.readBody(resp)
	if err != nil {
		return nil, err
	}
	final := req.URL
	if resp.Request != nil { // a RoundTripper of the caller's may leave it unset
		final = resp.Request.URL
	}
	finalURL := raw
	if final != req.URL || raw == "" {
		finalURL = final.String()
	}
	return &Response{
		FinalURL:   RedactURL(finalURL),
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		Body:       body,
		BodySize:   size,
		Truncated:  truncated,
		Timings:    tt.done(),
	}, nil
}

// readBody reads (or, with DiscardBody, counts) resp's body up to maxBody
// bytes, decoded from the Content-Encoding the transport left, and closes
// it. MaxBody caps the decoded bytes, so a compression bomb is cut there.
func (f *Fetcher) readBody(resp *http.Response) (body []byte, size int64, truncated bool, err error) {
	raw := resp.Body
	closeDecoders, err := decodeBody(resp)
	if err != nil {
		raw.Close()
		return nil, 0, false, err
	}
	defer closeDecoders()
	if f.DiscardBody {
		size, truncated, err = countCapped(resp.Body, f.maxBody())
	} else {
		body, truncated, err = readCapped(resp.Body, f.maxBody())
		size = int64(len(body))
	}
	// Closing an unfinished body makes the transport drop the connection
	// instead of draining an endless or huge body.
	resp.Body.Close()
	return body, size, truncated, err
}

// traceTimings records the phases of one attempt. Trace hooks may run on
// the transport's dialing goroutines, even after Do returns, so the
// timings are guarded.
type traceTimings struct {
	mu                            sync.Mutex
	t                             Timings
	start                         time.Time
	dnsStart, connStart, tlsStart time.Time
}

func (tt *traceTimings) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { tt.mark(&tt.dnsStart) },
		DNSDone:              func(httptrace.DNSDoneInfo) { tt.since(&tt.t.DNS, &tt.dnsStart) },
		ConnectStart:         func(string, string) { tt.mark(&tt.connStart) },
		ConnectDone:          func(string, string, error) { tt.since(&tt.t.Connect, &tt.connStart) },
		TLSHandshakeStart:    func() { tt.mark(&tt.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { tt.since(&tt.t.TLS, &tt.tlsStart) },
		GotFirstResponseByte: func() { tt.since(&tt.t.FirstByte, &tt.start) },
	}
}

// answerError returns err, the error of a request, marked a protocol
// failure when the server had begun its answer and err is of no kind that
// names what went wrong (a timeout, a cut, a reset, a size limit): the
// transport could not parse the answer. net/http's errors for a malformed
// status line, an HTTP/0.9 answer or two Content-Lengths have no type to
// name them by.
func (tt *traceTimings) answerError(err error) error {
	tt.mu.Lock()
	answered := tt.t.FirstByte > 0
	tt.mu.Unlock()
	if !answered || failure.Classify(err) != failure.Other {
		return err
	}
	// The mark goes inside the *url.Error, which the callers take off.
	if ue, ok := err.(*url.Error); ok {
		return &url.Error{Op: ue.Op, URL: ue.URL, Err: failure.Mark(failure.Protocol, ue.Err)}
	}
	return failure.Mark(failure.Protocol, err)
}

// mark sets *at to now.
func (tt *traceTimings) mark(at *time.Time) {
	now := time.Now()
	tt.mu.Lock()
	*at = now
	tt.mu.Unlock()
}

// since sets *d to the time since *from.
func (tt *traceTimings) since(d *time.Duration, from *time.Time) {
	tt.mu.Lock()
	*d = time.Since(*from)
	tt.mu.Unlock()
}

// done returns the timings, with the total up to now.
func (tt *traceTimings) done() Timings {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.t.Total = time.Since(tt.start)
	return tt.t
}

// readBufs holds the scratch buffers readCapped reads into.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

const readBufSize = 16 << 10

// readCapped reads r to the end or to limit bytes, reporting whether there
// was more. A body that fits in a pooled scratch buffer is returned as a
// copy of exactly its size: a 2 KiB page costs one 2 KiB allocation rather
// than the five doubling ones (8 KiB in all) of io.ReadAll, which were a
// fifth of a crawl's allocated bytes. A larger one grows as io.ReadAll's
// does, so its peak stays near its size.
func readCapped(r io.Reader, limit int64) ([]byte, bool, error) {
	lr := io.LimitReader(r, limit+1)
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf, n := *bp, 0
	var err error
	for n < len(buf) && err == nil {
		var m int
		m, err = lr.Read(buf[n:])
		n += m
	}
	body := append(make([]byte, 0, n), buf[:n]...)
	switch err {
	case io.EOF:
		err = nil
	case nil:
		body, err = readRest(lr, body)
	}
	if int64(len(body)) > limit {
		return body[:limit], true, nil
	}
	return body, false, err
}

// readRest appends what r holds to body, growing it as io.ReadAll does.
func readRest(r io.Reader, body []byte) ([]byte, error) {
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return body, err
		}
	}
}

// countCapped reads r to the end or to limit bytes, keeping none of it,
// and reports how many it read and whether there was more.
func countCapped(r io.Reader, limit int64) (int64, bool, error) {
	n, err := io.Copy(io.Discard, io.LimitReader(r, limit+1))
	if n > limit {
		return limit, true, nil
	}
	return n, false, err
}

// headerTooLarge wraps ErrHeaderTooLarge around the transport's error for
// a header past the limit, which net/http gives only as a message; it is
// the one failure named from its text, at the one place it is made.
func headerTooLarge(err error, limit int64) error {
	if strings.Contains(err.Error(), "server response headers exceeded") {
		return fmt.Errorf("%w: over %d bytes", ErrHeaderTooLarge, limit)
	}
	return err
}

// retryWait reports whether j's attempt, which ended with resp or err, is
// to be retried and after how long, by the failure policy: transient
// errors and the statuses it names, for idempotent requests, while
// retries remain and the server does not ask for more than MaxRetryWait.
// pause is what the server's Retry-After asked for, for its whole host.
func (f *Fetcher) retryWait(j *job, resp *Response, err error) (wait, pause time.Duration, ok bool) {
	if j.attempts > ResolveRetries(f.Retries) || !idempotent(j.req) || j.fut.taskContext().Err() != nil {
		return 0, 0, false
	}
	if err != nil {
		if !failure.Retryable(err) {
			return 0, 0, false
		}
	} else {
		if !failure.RetryableStatus(resp.StatusCode) {
			return 0, 0, false
		}
		pause = failure.StatusPause(resp.StatusCode, resp.Header, time.Now())
	}
	wait, ok = failure.Wait(j.attempts, pause, f.maxRetryWait())
	return wait, pause, ok
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
