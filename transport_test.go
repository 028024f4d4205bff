package sluice

// Transport-level edge cases, scripted with httpmock: each responder
// answers one attempt, so retries, Retry-After dates, redirect chains and
// bodies cut short happen exactly as the test says. Integration tests use
// loopback servers (fetcher_test.go).

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/sluicehq/sluice/internal/failure"
)

// mockFetcher returns a Fetcher whose client talks to a fresh mock
// transport, and the transport. The Fetcher's own redirect policy is kept.
func mockFetcher(t *testing.T, f *Fetcher) (*Fetcher, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	f.Client = &http.Client{Transport: mt, CheckRedirect: f.checkRedirect}
	t.Cleanup(f.Stop)
	return f, mt
}

// recorded returns a responder that replays a response from testdata.
func recorded(t *testing.T, name string) httpmock.Responder {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "responses", name))
	if err != nil {
		t.Fatal(err)
	}
	return func(req *http.Request) (*http.Response, error) {
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(data))), req)
		if err != nil {
			t.Fatalf("testdata/responses/%s: %v", name, err)
		}
		return resp, nil
	}
}

// sequence returns a responder that answers with each of rs in turn, the
// last one for ever after.
func sequence(rs ...httpmock.Responder) httpmock.Responder {
	n := 0
	return func(req *http.Request) (*http.Response, error) {
		r := rs[min(n, len(rs)-1)]
		n++
		return r(req)
	}
}

func TestMockRetryOnReset(t *testing.T) {
	reset := httpmock.NewErrorResponder(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})
	f, mt := mockFetcher(t, &Fetcher{Retries: 2, MaxRetryWait: 10 * time.Millisecond})
	mt.RegisterResponder(http.MethodGet, "http://site.test/a", sequence(reset, reset, recorded(t, "200-html.http")))
	resp, err := f.Fetch(context.Background(), "http://site.test/a")
	if err != nil || resp.StatusCode != 200 || resp.Attempts != 3 {
		t.Fatalf("Fetch = %+v, %v; want a 200 on attempt 3", resp, err)
	}

	// Out of retries, the reset is the error, named by the failure policy.
	mt.RegisterResponder(http.MethodGet, "http://site.test/b", reset)
	_, err = f.Fetch(context.Background(), "http://site.test/b")
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Attempts != 3 || failure.Classify(err) != failure.Reset {
		t.Fatalf("Fetch = %v; want a reset after 3 attempts", err)
	}
}

// TestMockNotRetried checks that failures that will not pass by
// themselves are not retried.
func TestMockNotRetried(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind failure.Kind
	}{
		{"tls", &tls509{}, failure.TLS},
		{"bad header line", errors.New("net/http: invalid header field value"), failure.Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, mt := mockFetcher(t, &Fetcher{Retries: 3, MaxRetryWait: 10 * time.Millisecond})
			mt.RegisterResponder(http.MethodGet, "http://site.test/", httpmock.NewErrorResponder(tt.err))
			_, err := f.Fetch(context.Background(), "http://site.test/")
			var fe *FetchError
			if !errors.As(err, &fe) || fe.Attempts != 1 || failure.Classify(err) != tt.kind {
				t.Fatalf("Fetch = %v (attempts %d); want one attempt failing as %s", err, fe.Attempts, tt.kind)
			}
		})
	}
}

// tls509 stands for a certificate the client does not trust.
type tls509 struct{}

func (*tls509) Error() string             { return "x509: certificate signed by unknown authority" }
func (*tls509) FailureKind() failure.Kind { return failure.TLS }

func TestMockRetryAfterDates(t *testing.T) {
	f, mt := mockFetcher(t, &Fetcher{Retries: 1, MaxRetryWait: time.Second})
	// A date in the past asks for no wait: the retry comes after the
	// backoff alone.
	mt.RegisterResponder(http.MethodGet, "http://site.test/past",
		sequence(recorded(t, "429-retry-after-past-date.http"), recorded(t, "200-html.http")))
	resp, err := f.Fetch(context.Background(), "http://site.test/past")
	if err != nil || resp.StatusCode != 200 || resp.Attempts != 2 || resp.Elapsed > time.Second {
		t.Fatalf("past date: %+v, %v; want a 200 on attempt 2 within MaxRetryWait", resp, err)
	}
	// A date past MaxRetryWait is not waited for: the 503 is the answer.
	mt.RegisterResponder(http.MethodGet, "http://site.test/far",
		sequence(recorded(t, "503-retry-after-far-date.http"), recorded(t, "200-html.http")))
	resp, err = f.Fetch(context.Background(), "http://site.test/far")
	if err != nil || resp.StatusCode != 503 || resp.Attempts != 1 {
		t.Fatalf("far date: %+v, %v; want the 503 after one attempt", resp, err)
	}
}

func TestMockRedirectLimits(t *testing.T) {
	hop := func(req *http.Request) (*http.Response, error) {
		n, _ := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/r/"))
		resp := httpmock.NewStringResponse(http.StatusFound, "")
		resp.Header.Set("Location", "/r/"+strconv.Itoa(n+1))
		return resp, nil
	}
	tests := []struct {
		max     int
		tooMany bool
		status  int
	}{
		{max: 2, tooMany: true},
		{max: 5, tooMany: true},
		{max: -1, status: http.StatusFound},
	}
	for _, tt := range tests {
		f, mt := mockFetcher(t, &Fetcher{MaxRedirects: tt.max})
		mt.RegisterRegexpResponder(http.MethodGet, mustRegexp(`^http://site\.test/r/\d+$`), hop)
		resp, err := f.Fetch(context.Background(), "http://site.test/r/0")
		switch {
		case tt.tooMany && (!errors.Is(err, ErrTooManyRedirects) || failure.Classify(err) != failure.Redirects):
			t.Errorf("MaxRedirects %d: %v; want ErrTooManyRedirects", tt.max, err)
		case tt.tooMany && mt.GetTotalCallCount() != tt.max+1:
			t.Errorf("MaxRedirects %d: %d requests, want %d", tt.max, mt.GetTotalCallCount(), tt.max+1)
		case !tt.tooMany && (err != nil || resp.StatusCode != tt.status):
			t.Errorf("MaxRedirects %d: %+v, %v; want the 302 itself", tt.max, resp, err)
		}
	}
}

// cutReader yields its data, then fails as a connection cut short does.
type cutReader struct{ r io.Reader }

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func TestMockTruncatedBodies(t *testing.T) {
	cut := func(req *http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(http.StatusOK, "")
		resp.Body = io.NopCloser(&cutReader{strings.NewReader("<html>half")})
		resp.ContentLength = 1000
		return resp, nil
	}
	f, mt := mockFetcher(t, &Fetcher{Retries: 1, MaxRetryWait: 10 * time.Millisecond, MaxBody: 20})
	// Cut short by the server: a read failure, retried.
	mt.RegisterResponder(http.MethodGet, "http://site.test/cut", sequence(cut, recorded(t, "200-html.http")))
	resp, err := f.Fetch(context.Background(), "http://site.test/cut")
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("cut body: %+v, %v; want success on attempt 2", resp, err)
	}
	// Longer than MaxBody: cut by the Fetcher, not an error.
	if !resp.Truncated || len(resp.Body) != 20 {
		t.Fatalf("body of %d bytes, truncated %v; want 20 and true", len(resp.Body), resp.Truncated)
	}
	// Cut short every time: the error is a read failure.
	mt.RegisterResponder(http.MethodGet, "http://site.test/always", cut)
	_, err = f.Fetch(context.Background(), "http://site.test/always")
	if failure.Classify(err) != failure.Read || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("always cut: %v; want a read failure", err)
	}
}

// TestMockRetryAfterHoldsHost checks that a Retry-After holds the whole
// host, as in the crawler: a request to it submitted meanwhile waits too.
func TestMockRetryAfterHoldsHost(t *testing.T) {
	// PerHost 1: b waits for a's first attempt to end, and so sees the hold.
	f, mt := mockFetcher(t, &Fetcher{Retries: 1, MaxRetryWait: 5 * time.Second, PerHost: 1})
	var busyAt, otherAt time.Time
	busy := httpmock.NewStringResponder(http.StatusServiceUnavailable, "").HeaderSet(http.Header{"Retry-After": {"1"}})
	mt.RegisterResponder(http.MethodGet, "http://site.test/a", sequence(
		func(req *http.Request) (*http.Response, error) { busyAt = time.Now(); return busy(req) },
		recorded(t, "200-html.http")))
	mt.RegisterResponder(http.MethodGet, "http://site.test/b", func(req *http.Request) (*http.Response, error) {
		otherAt = time.Now()
		return recorded(t, "200-html.http")(req)
	})
	a := f.Submit("http://site.test/a")
	for mt.GetTotalCallCount() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := f.Fetch(context.Background(), "http://site.test/b"); err != nil {
		t.Fatal(err)
	}
	if resp, err := a.Result(); err != nil || resp.Attempts != 2 {
		t.Fatalf("a: %+v, %v", resp, err)
	}
	if d := otherAt.Sub(busyAt); d < 900*time.Millisecond {
		t.Fatalf("b started %v after the host asked for 1 s", d)
	}
}
