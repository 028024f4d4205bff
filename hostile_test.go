package sluice

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
	"github.com/sluicehq/sluice/internal/hostile"
)

// TestFetchHostile checks what a Fetcher does against each misbehaving
// endpoint of the hostile server: every fetch ends, with an error or a
// capped body, within its timeout.
func TestFetchHostile(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	t.Cleanup(srv.Close) // after the parallel subtests, as a defer is not
	tlsSrv := hostile.NewTLS(hostile.Config{})
	t.Cleanup(tlsSrv.Close)
	f := &Fetcher{Timeout: 2 * time.Second, MaxBody: 1 << 20, MaxInFlight: 8}
	t.Cleanup(func() { f.Close() })
	for _, tc := range []struct {
		path      string
		wantErr   string // substring of the error; "" means a response
		truncated bool
	}{
		{"/slowloris?every=20ms", "deadline exceeded", false},
		{"/stall", "deadline exceeded", false},
		{"/endless", "", true},
		{"/lie?length=100000&send=10", "unexpected EOF", false},
		{"/reset", "reset", false},
		{"/gzip?size=1073741824", "", true},
		{"/statusline", "malformed HTTP status code", false},
		{"/badheader", "malformed MIME header", false},
		{"/loop", "redirects", false},
		{"tls:/ok", "certificate", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel() // the timeouts, three attempts of 2 s each, overlap
			u := srv.URL + tc.path
			if rest, ok := strings.CutPrefix(tc.path, "tls:"); ok {
				u = tlsSrv.URL + rest
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp, err := f.Fetch(ctx, u)
			if ctx.Err() != nil {
				t.Fatalf("fetch outlived its timeout: %v", err)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				var fe *FetchError
				if !errors.As(err, &fe) {
					t.Fatalf("err is %T, want *FetchError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Truncated != tc.truncated || int64(len(resp.Body)) != f.maxBody() {
				t.Fatalf("truncated %v, %d bytes; want %v, %d", resp.Truncated, len(resp.Body), tc.truncated, f.maxBody())
			}
		})
	}
}

// TestFetchGzipBombsBounded fetches gzip bombs of 1 GiB each, 16 at once:
// the heap stays within what 16 capped bodies take, whatever they inflate
// to.
func TestFetchGzipBombsBounded(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	const n, maxBody = 16, 1 << 20
	f := &Fetcher{Timeout: 10 * time.Second, MaxBody: maxBody, MaxInFlight: n}
	defer f.Close()
	peak := hostile.HeapPeak(func() {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := f.Fetch(context.Background(), srv.URL+"/gzip?size=1073741824")
				if err != nil || !resp.Truncated {
					t.Errorf("fetch: %v", err)
				}
			})
		}
		wg.Wait()
	})
	// Each capped body is read through a buffer that may double once.
	if budget := uint64(n * maxBody * 4); peak > budget {
		t.Fatalf("heap peak %d MiB, budget %d MiB", peak>>20, budget>>20)
	}
	t.Logf("heap peak %.1f MiB for %d bombs", float64(peak)/(1<<20), n)
}

// TestFetchHeadersStayWithTheirOrigin redirects to another port of the same
// address: the Fetcher's headers and the credentials go to the origin
// asked for only, unless HeaderAnyHost is set.
func TestFetchHeadersStayWithTheirOrigin(t *testing.T) {
	other := hostile.New(hostile.Config{})
	defer other.Close()
	for _, anyHost := range []bool{false, true} {
		srv := hostile.New(hostile.Config{})
		defer srv.Close()
		f := &Fetcher{HeaderAnyHost: anyHost, Header: http.Header{
			"Authorization": {"Bearer SECRET"}, "Cookie": {"session=SECRET"}, "X-Api-Key": {"SECRET"},
		}}
		// Same origin first (the header stays), then another port.
		for _, to := range []string{srv.URL + "/ok", other.URL + "/ok?any=" + strconv.FormatBool(anyHost)} {
			resp, err := f.Fetch(context.Background(), srv.URL+"/redirect?to="+url.QueryEscape(to))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("fetch: %v", err)
			}
		}
		f.Close()
		for _, h := range []string{"Authorization", "Cookie", "X-Api-Key"} {
			if got := srv.Requests(h); got != 3 {
				t.Errorf("origin saw %s %d times, want 3", h, got)
			}
			got := other.Requests(h)
			if anyHost && got != 1 || !anyHost && got != 0 {
				t.Errorf("HeaderAnyHost %v: the other port saw %s %d times", anyHost, h, got)
			}
		}
	}
}

func TestFetchErrorRedactsPassword(t *testing.T) {
	f := &Fetcher{}
	defer f.Close()
	_, err := f.Fetch(context.Background(), "http://user:SECRET@127.0.0.1:1/")
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "user:xxxxx@") {
		t.Fatalf("err = %v", err)
	}
	for in, want := range map[string]string{
		"http://u:p@h/x":   "http://u:xxxxx@h/x",
		"http://u@h/x":     "http://u@h/x",
		"http://h/x?a=b@c": "http://h/x?a=b@c",
		"not a url %":      "not a url %",
		// url.Parse refuses these; their passwords go all the same.
		"http://u:p@127.0.0.1:99999/": "http://u:xxxxx@127.0.0.1:99999/",
		"http://u:p@[::1/x":           "http://u:xxxxx@[::1/x",
		"http://u:p@q@h:99999/x?a@b":  "http://u:xxxxx@h:99999/x?a@b",
		"http://u@h:99999/":           "http://u@h:99999/",
		"ftp://h:99999/a@b":           "ftp://h:99999/a@b",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFetchDenyPrivate fetches loopback through a guarded Fetcher, by
// address, by name and by a redirect: each is refused at dial time, with
// kind "blocked", and not retried.
func TestFetchDenyPrivate(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	f := &Fetcher{DenyPrivate: true, Retries: 2}
	defer f.Close()
	for _, u := range []string{srv.URL + "/ok", fmt.Sprintf("http://localhost:%d/ok", port), "http://[::1]:1/", "http://169.254.169.254/latest/meta-data/"} {
		_, err := f.Fetch(context.Background(), u)
		var fe *FetchError
		if !errors.As(err, &fe) || failure.Classify(err) != failure.Blocked || fe.Attempts != 1 {
			t.Errorf("%s: %v (kind %s), want one blocked attempt", u, err, failure.Classify(err))
		}
	}
	if n := srv.Requests("*"); n != 0 {
		t.Fatalf("the guarded server was reached %d times", n)
	}
}

func TestFetchInsecure(t *testing.T) {
	srv := hostile.NewTLS(hostile.Config{})
	defer srv.Close()
	for _, insecure := range []bool{false, true} {
		f := &Fetcher{InsecureSkipVerify: insecure}
		resp, err := f.Fetch(context.Background(), srv.URL+"/ok")
		f.Close()
		if insecure && (err != nil || resp.StatusCode != 200) || !insecure && failure.Classify(err) != failure.TLS {
			t.Errorf("insecure %v: %v", insecure, err)
		}
	}
}

// TestFetchNotRetried checks that failures that cannot succeed on another
// try are tried once.
func TestFetchNotRetried(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	tlsSrv := hostile.NewTLS(hostile.Config{})
	defer tlsSrv.Close()
	f := &Fetcher{Retries: 3, MaxHeaderBytes: 64 << 10}
	defer f.Close()
	for _, u := range []string{srv.URL + "/statusline", srv.URL + "/badheader", tlsSrv.URL + "/ok", srv.URL + "/headers?size=200000"} {
		_, err := f.Fetch(context.Background(), u)
		var fe *FetchError
		if !errors.As(err, &fe) || fe.Attempts != 1 {
			t.Errorf("%s: %v, want one attempt", u, err)
		}
	}
	bad := &Fetcher{Retries: 3, Header: http.Header{"X-Bad": {"a\x00b"}}}
	defer bad.Close()
	_, err := bad.Fetch(context.Background(), srv.URL+"/ok")
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Attempts > 1 {
		t.Errorf("invalid header value: %v, want at most one attempt", err)
	}
}

// TestFetchHeaderLimit fetches 9 MB headers, 32 at once: each fails with
// ErrHeaderTooLarge at the 1 MiB default, and the heap stays within what
// the limit allows.
func TestFetchHeaderLimit(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	const n = 32
	f := &Fetcher{MaxInFlight: n}
	defer f.Close()
	peak := hostile.HeapPeak(func() {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := f.Fetch(context.Background(), srv.URL+"/headers?size=9000000")
				if !errors.Is(err, ErrHeaderTooLarge) || failure.Classify(err) != failure.TooLarge {
					t.Errorf("err = %v, want ErrHeaderTooLarge", err)
				}
			})
		}
		wg.Wait()
	})
	if budget := uint64(n * 4 << 20); peak > budget {
		t.Fatalf("heap peak %d MiB, budget %d MiB", peak>>20, budget>>20)
	}
	t.Logf("heap peak %.1f MiB", float64(peak)/(1<<20))
	big := &Fetcher{MaxHeaderBytes: 16 << 20}
	defer big.Close()
	if _, err := big.Fetch(context.Background(), srv.URL+"/headers?size=2000000"); err != nil {
		t.Fatalf("a raised limit: %v", err)
	}
}

// TestFetchDiscardBody fetches gzip bombs with DiscardBody: each body is
// counted to MaxBody and none is held.
func TestFetchDiscardBody(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	const n = 16
	f := &Fetcher{MaxInFlight: n, DiscardBody: true}
	defer f.Close()
	peak := hostile.HeapPeak(func() {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := f.Fetch(context.Background(), srv.URL+"/gzip?size=1073741824")
				if err != nil || resp.Body != nil || resp.BodySize != f.maxBody() || !resp.Truncated {
					t.Errorf("fetch: %v", err)
				}
			})
		}
		wg.Wait()
	})
	if budget := uint64(32 << 20); peak > budget {
		t.Fatalf("heap peak %d MiB for %d discarded bodies of %d MiB, budget %d MiB", peak>>20, n, f.maxBody()>>20, budget>>20)
	}
	t.Logf("heap peak %.1f MiB", float64(peak)/(1<<20))
}

// TestFetchMalformedAnswerKind fetches answers that break HTTP in ways
// net/http's errors have no type for: each is of kind protocol, not
// other, while a hang-up and a header cut short keep their own kinds.
func TestFetchMalformedAnswerKind(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		kind        failure.Kind
	}{
		{"malformed status code", "HTTP/1.1 2x0 OK\r\n\r\n", failure.Protocol},
		{"no status", "HTTP/1.1\r\n\r\n", failure.Protocol},
		{"HTTP/0.9", "<html><a href=/x>x</a></html>", failure.Protocol},
		{"two Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", failure.Protocol},
		{"bad header line", "HTTP/1.1 200 OK\r\nbad header line\r\n\r\n", failure.Protocol},
		{"header cut short", "HTTP/1.1 200 OK\r\nX-A: b", failure.Read},
		{"hang-up", "", failure.Reset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				c, buf, _ := w.(http.Hijacker).Hijack()
				buf.WriteString(tc.reply)
				buf.Flush()
				c.Close()
			}))
			defer srv.Close()
			f := &Fetcher{Retries: -1}
			defer f.Close()
			_, err := f.Fetch(context.Background(), srv.URL)
			if got := failure.Classify(err); got != tc.kind {
				t.Errorf("kind %s, want %s: %v", got, tc.kind, err)
			}
		})
	}
}
