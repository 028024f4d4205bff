package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
	"github.com/sluicehq/sluice/internal/hostile"
)

func okHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	_, _ = io.WriteString(w, "hello")
}

func mustRun(t *testing.T, cfg Config) *Report {
	t.Helper()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestClosedRequestCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(okHandler))
	defer tlsSrv.Close()
	for _, tc := range []struct{ name, url string }{{"fasthttp", srv.URL}, {"net/http", tlsSrv.URL}} {
		t.Run(tc.name, func(t *testing.T) {
			rep := mustRun(t, Config{Targets: []Target{{URL: tc.url + "/x"}}, MaxInFlight: 4, Requests: 200, InsecureSkipVerify: true})
			if rep.Requests != 200 || rep.Success != 200 || rep.StatusCodes["200"] != 200 {
				t.Fatalf("requests %d success %d status %v, want 200 each", rep.Requests, rep.Success, rep.StatusCodes)
			}
			// net/http may dial a spare connection or two that it never uses.
			if rep.ConnsOpened < 1 || rep.ConnsOpened > 4 || rep.ConnsReused < 200-rep.ConnsOpened || rep.ConnsReused > 199 {
				t.Fatalf("connections opened %d reused %d", rep.ConnsOpened, rep.ConnsReused)
			}
			if rep.BytesRead < 200*5 || rep.BytesWritten < 200*20 {
				t.Fatalf("bytes read %d written %d", rep.BytesRead, rep.BytesWritten)
			}
			if rep.Model != "closed" || rep.Latency.P50 <= 0 || rep.Service.Max < rep.Service.P50 {
				t.Fatalf("bad report: %+v", rep)
			}
		})
	}
}

func TestClosedDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	rep := mustRun(t, Config{Targets: []Target{{URL: srv.URL}}, MaxInFlight: 2, Duration: 300 * time.Millisecond})
	if rep.Requests == 0 || rep.Duration < 0.3 || rep.Duration > 2 {
		t.Fatalf("requests %d in %.3fs", rep.Requests, rep.Duration)
	}
}

func TestOpenSendsThePlan(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	var rows []Second
	rep := mustRun(t, Config{Targets: []Target{{URL: srv.URL}}, Rate: 1000, Duration: 2 * time.Second,
		OnSecond: func(s Second) { rows = append(rows, s) }})
	// The last requests may still be in flight when the plan ends; they are
	// cancelled. On a loaded machine (or under -race) the sender may fall
	// behind; what is still unsent at the end is dropped, never sent late.
	if rep.Model != "open" || rep.Requests+rep.Cancelled+rep.Dropped != 2000 || rep.Requests < 1000 || rep.TargetRPS != 1000 {
		t.Fatalf("model %s requests %d cancelled %d dropped %d target %v, want open, a sum of 2000, 1000", rep.Model, rep.Requests, rep.Cancelled, rep.Dropped, rep.TargetRPS)
	}
	var planned, sent int64
	for _, s := range rep.Seconds {
		planned += s.Target
		sent += s.Sent
	}
	if planned != 2000 || sent != rep.Requests+rep.Cancelled {
		t.Fatalf("seconds plan %d and send %d, want 2000 and %d", planned, sent, rep.Requests+rep.Cancelled)
	}
	if len(rows) != len(rep.Seconds) || rows[0] != rep.Seconds[0] {
		t.Fatalf("OnSecond saw %d rows, report has %d", len(rows), len(rep.Seconds))
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"open model", "target 1000.0 req/s", "full seconds more than 1% off plan", "lateness", "late sends"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

func TestDropAbove(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	defer srv.Close()
	rep := mustRun(t, Config{Targets: []Target{{URL: srv.URL}}, Rate: 1000, Duration: 500 * time.Millisecond, DropAbove: 5})
	if rep.Dropped == 0 || rep.Requests+rep.Dropped+rep.Cancelled != 500 {
		t.Fatalf("requests %d dropped %d cancelled %d, want a sum of 500", rep.Requests, rep.Dropped, rep.Cancelled)
	}
	if rep.Requests > 5*600/50 {
		t.Fatalf("%d requests passed a cap of 5 in flight at 50ms each", rep.Requests)
	}
}

// hijack serves raw bytes (or nothing) and closes, for broken servers.
func hijack(fn func(c net.Conn, rw *bufio.ReadWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		fn(c, rw)
		_ = c.Close()
	}
}

func TestErrorKinds(t *testing.T) {
	downURL := hostile.RefusedURL(t)

	// The slow handler ignores the client giving up (answering then would
	// race the client's deadline) and is released when the test ends.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-release:
		}
	}))
	defer slow.Close()
	reset := httptest.NewServer(hijack(func(c net.Conn, _ *bufio.ReadWriter) {
		_ = c.(*net.TCPConn).SetLinger(0) // close with RST
	}))
	defer reset.Close()
	shortBody := hijack(func(c net.Conn, rw *bufio.ReadWriter) {
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
		_ = rw.Flush()
	})
	short := httptest.NewServer(shortBody)
	defer short.Close()
	shortTLS := httptest.NewTLSServer(shortBody)
	defer shortTLS.Close()
	slowTLS := httptest.NewTLSServer(slow.Config.Handler)
	defer slowTLS.Close()
	defer close(release) // runs before the Close calls above
	garbage := httptest.NewServer(hijack(func(c net.Conn, rw *bufio.ReadWriter) {
		_, _ = rw.WriteString("SSH-2.0-not http at all\r\n\r\n")
		_ = rw.Flush()
	}))
	defer garbage.Close()
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	}))
	defer status.Close()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(okHandler))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	tests := []struct {
		name     string
		url      string
		http2    bool
		insecure bool
		kind     string
	}{
		{"down", downURL, false, false, failure.Connect.String()},
		{"down net/http", downURL, true, false, failure.Connect.String()},
		{"timeout", slow.URL, false, false, failure.Timeout.String()},
		{"timeout net/http", slowTLS.URL, false, true, failure.Timeout.String()},
		{"reset", reset.URL, false, false, failure.Reset.String()},
		{"short body", short.URL, false, false, failure.Read.String()},
		{"short body net/http", shortTLS.URL, false, true, failure.Read.String()},
		{"not http", garbage.URL, false, false, failure.Other.String()}, // a bad status line carries no error value in either engine
		{"untrusted cert", tlsSrv.URL, false, false, failure.TLS.String()},
		{"tls to plain", strings.Replace(status.URL, "http:", "https:", 1), false, true, failure.TLS.String()},
		{"status 503", status.URL, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := 5 * time.Second
			if tt.kind == failure.Timeout.String() {
				timeout = 200 * time.Millisecond
			}
			rep := mustRun(t, Config{Targets: []Target{{URL: tt.url}}, MaxInFlight: 2, Requests: 6,
				Timeout: timeout, HTTP2: tt.http2, InsecureSkipVerify: tt.insecure})
			if rep.Requests != 6 || rep.Failed != 6 || rep.Success != 0 {
				t.Fatalf("requests %d failed %d success %d, want 6 failed", rep.Requests, rep.Failed, rep.Success)
			}
			if tt.kind == "" {
				if len(rep.Errors) != 0 || rep.StatusCodes["503"] != 6 {
					t.Fatalf("errors %v status %v, want six 503s", rep.Errors, rep.StatusCodes)
				}
				return
			}
			if rep.Errors[tt.kind] != 6 || len(rep.Errors) != 1 {
				t.Fatalf("errors %v (%v), want %d of %q", rep.Errors, rep.ErrorSamples, 6, tt.kind)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, failure.DNS.String()},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), failure.Timeout.String()},
		{io.ErrUnexpectedEOF, failure.Read.String()},
		{io.EOF, failure.Reset.String()},
		{errors.New("something odd"), failure.Other.String()},
	}
	for _, tt := range tests {
		if got := classify(tt.err).String(); got != tt.want {
			t.Errorf("classify(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestTargetsBreakdown(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.Header.Get("X-Kind") == "json":
			b, _ := io.ReadAll(r.Body)
			if string(b) == `{"a":1}` {
				posts.Add(1)
			}
		case r.URL.Path == "/missing":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	rep := mustRun(t, Config{Targets: []Target{
		{URL: srv.URL + "/a"},
		{Method: "POST", URL: srv.URL + "/b", Header: http.Header{"X-Kind": {"json"}}, Body: []byte(`{"a":1}`)},
		{URL: srv.URL + "/missing"},
	}, MaxInFlight: 1, Requests: 30})
	if len(rep.Targets) != 3 {
		t.Fatalf("targets %+v", rep.Targets)
	}
	for i, ts := range rep.Targets {
		if ts.Requests != 10 {
			t.Errorf("target %d: %d requests, want 10", i, ts.Requests)
		}
	}
	if rep.Targets[2].Failed != 10 || rep.StatusCodes["404"] != 10 || posts.Load() != 10 {
		t.Fatalf("404s %v, posts with body %d", rep.StatusCodes, posts.Load())
	}
}

func TestKeepAliveOff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(okHandler))
	defer tlsSrv.Close()
	for _, url := range []string{srv.URL, tlsSrv.URL} {
		rep := mustRun(t, Config{Targets: []Target{{URL: url}}, MaxInFlight: 2, Requests: 20, DisableKeepAlives: true, InsecureSkipVerify: true})
		if rep.ConnsOpened != 20 || rep.ConnsReused != 0 || rep.Success != 20 {
			t.Fatalf("%s keep-alive off: opened %d reused %d ok %d, want 20 0 20", url, rep.ConnsOpened, rep.ConnsReused, rep.Success)
		}
	}
}

func TestHTTP2(t *testing.T) {
	var h2 atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
	})
	tlsSrv := httptest.NewUnstartedServer(h)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	h2c := httptest.NewUnstartedServer(h)
	h2c.Config.Protocols = new(http.Protocols)
	h2c.Config.Protocols.SetHTTP1(true)
	h2c.Config.Protocols.SetUnencryptedHTTP2(true)
	h2c.Start()
	defer h2c.Close()
	for _, url := range []string{tlsSrv.URL, h2c.URL} {
		h2.Store(0)
		rep := mustRun(t, Config{Targets: []Target{{URL: url}}, MaxInFlight: 4, Requests: 40, HTTP2: true, InsecureSkipVerify: true})
		if rep.Success != 40 || h2.Load() != 40 {
			t.Fatalf("%s: ok %d, over HTTP/2 %d; want 40 and 40 (errors %v)", url, rep.Success, h2.Load(), rep.ErrorSamples)
		}
		if rep.ConnsOpened < 1 || rep.ConnsOpened > 4 || rep.ConnsReused < 40-rep.ConnsOpened || rep.ConnsReused > 39 {
			t.Errorf("%s: %d connections opened, %d reused", url, rep.ConnsOpened, rep.ConnsReused)
		}
	}
}

func TestWarmupExcluded(t *testing.T) {
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen.Add(1) }))
	defer srv.Close()
	rep := mustRun(t, Config{Targets: []Target{{URL: srv.URL}}, MaxInFlight: 2, Requests: 50, Warmup: 100 * time.Millisecond})
	if rep.Requests != 50 || seen.Load() <= 50 {
		t.Fatalf("report counts %d, server saw %d; want 50 and more than 50", rep.Requests, seen.Load())
	}
	if rep.ConnsOpened != 0 {
		t.Fatalf("measured phase dialled %d connections; warmup should have opened them", rep.ConnsOpened)
	}
}

func TestInterrupted(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("slow") != "" {
			<-r.Context().Done()
		}
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	for _, cfg := range []Config{
		{Targets: []Target{{URL: srv.URL}, {URL: srv.URL + "/?slow=1"}}, MaxInFlight: 4, Duration: time.Minute},
		{Targets: []Target{{URL: srv.URL}}, Rate: 200, Duration: time.Minute},
		{Targets: []Target{{URL: h2.URL + "/?slow=1"}}, Rate: 200, Duration: time.Minute, HTTP2: true, InsecureSkipVerify: true},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
		start := time.Now()
		rep, err := Run(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("stopping took %v", took)
		}
		if !rep.Interrupted || len(rep.Seconds) == 0 || len(rep.Errors) != 0 {
			t.Fatalf("interrupted %v, %d seconds, errors %v", rep.Interrupted, len(rep.Seconds), rep.ErrorSamples)
		}
	}
}

func TestValidate(t *testing.T) {
	u := []Target{{URL: "http://127.0.0.1/"}}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no targets"},
		{Config{Targets: []Target{{URL: "127.0.0.1:80"}}}, "bad URL"},
		{Config{Targets: []Target{{URL: "http://"}}}, "no host"},
		{Config{Targets: []Target{{URL: "http://127.0.0.1:99999/"}}}, "port 99999 out of range"},
		{Config{Targets: []Target{{URL: "http://x/", Header: map[string][]string{"A": {"b\r\nc"}}}}}, "bad value"},
		{Config{Targets: []Target{{URL: "http://x/"}, {Method: "G T", URL: "http://x/"}}}, `load: target 2: bad method "G T"`},
		{Config{Targets: u, Rate: 10, Stages: []Stage{{time.Second, 1}}}, "mutually exclusive"},
		{Config{Targets: u, Rate: 10, Requests: 5}, "closed model only"},
		{Config{Targets: u, DropAbove: 5}, "open model only"},
		{Config{Targets: u, Stages: []Stage{{time.Second, 0}}}, "every stage has rate 0"},
		{Config{Targets: u, MaxInFlight: -1}, "connections"},
		{Config{Targets: u, MaxInFlight: 100_000_000}, "at most 100000"},
		{Config{Targets: u, Rate: 10, DropAbove: 100_000_000}, "at most 100000"},
		{Config{Targets: u, Rate: math.NaN()}, "not a number"},
		{Config{Targets: u, Rate: math.Inf(1)}, "not a number"},
		{Config{Targets: u, Stages: []Stage{{time.Second, math.NaN()}}}, "stage 1"},
		{Config{Targets: u, Stages: []Stage{{2562047 * time.Hour, 1}, {2562047 * time.Hour, 1}}}, "longer than"},
		{Config{Targets: u, Duration: 2562047 * time.Hour, Warmup: 2562047 * time.Hour}, "at most"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "load: ") {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
		if _, err := Run(context.Background(), tt.cfg); err == nil {
			t.Errorf("Run accepted %+v", tt.cfg)
		}
	}
}

func TestLargeBodies(t *testing.T) {
	const size = 8 << 20
	chunk := make([]byte, 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cl") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		} // else chunked
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	for _, url := range []string{srv.URL + "/?cl=1", srv.URL + "/"} {
		rep := mustRun(t, Config{Targets: []Target{{URL: url}}, MaxInFlight: 2, Requests: 6})
		if rep.Success != 6 || rep.BytesRead < 6*size {
			t.Fatalf("%s: ok %d, read %d bytes; want 6 and at least %d (errors %v)", url, rep.Success, rep.BytesRead, 6*size, rep.ErrorSamples)
		}
	}
}

func TestOverloadEndsOnTime(t *testing.T) {
	// One connection to a 100 ms server can carry 10 requests/s; the plan
	// asks for 100 in one second. The run must end with the plan, count
	// what it never sent as dropped and what it cut off as cancelled.
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	rep := mustRun(t, Config{Targets: []Target{{URL: srv.URL}}, MaxInFlight: 1, Rate: 100, Duration: time.Second, Timeout: 300 * time.Millisecond})
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("run took %v for a 1 s plan with a 300 ms timeout", took)
	}
	if rep.Requests+rep.Dropped+rep.Cancelled != 100 || rep.Dropped < 50 {
		t.Fatalf("requests %d dropped %d cancelled %d; want a sum of 100 and most dropped", rep.Requests, rep.Dropped, rep.Cancelled)
	}
	var rowDrops int64
	for _, s := range rep.Seconds {
		rowDrops += s.Dropped
	}
	if rowDrops != rep.Dropped {
		t.Fatalf("seconds count %d drops, report %d", rowDrops, rep.Dropped)
	}
}

// panicWorker fails a test that sends through it.
type panicWorker struct{ t *testing.T }

func (w panicWorker) do(context.Context, int, time.Time) (int, error) {
	w.t.Error("a request sent after the plan ended")
	return 0, nil
}

// TestOpenWorkerDropsAfterPlanEnd hands a worker a job once the plan's
// deadline has ended its context but before the phase is marked ended:
// the job is counted as dropped, not lost, unless the caller's own
// context ended the run.
func TestOpenWorkerDropsAfterPlanEnd(t *testing.T) {
	for _, callerEnded := range []bool{false, true} {
		cfg := &Config{Targets: []Target{{URL: "http://127.0.0.1:1/"}}, Rate: 10, Duration: time.Second}
		p := newPhase(cfg, new(atomic.Bool))
		p.start = time.Now()
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, cancel := context.WithCancel(parent)
		if callerEnded {
			cancelParent()
		}
		cancel() // the deadline, whose AfterFunc has not yet set p.ended
		jobs := make(chan int64, 1)
		jobs <- 3
		close(jobs)
		var inflight atomic.Int64
		inflight.Add(1)
		p.openWorker(ctx, parent, cfg, panicWorker{t}, jobs, &inflight)
		cancelParent()
		want := int64(1)
		if callerEnded {
			want = 0
		}
		if p.rec.totalDropped != want || inflight.Load() != 0 {
			t.Errorf("caller ended %v: dropped %d, in flight %d; want %d and 0", callerEnded, p.rec.totalDropped, inflight.Load(), want)
		}
	}
}

// TestReportRedactsPassword checks that a password in a target's URL is
// shown as xxxxx in every form of the report, as in sluice's records: the
// JSON and HTML reports, which are made to be shared, carried it.
func TestReportRedactsPassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	u := strings.Replace(srv.URL, "://", "://user:s3cret@", 1) + "/x"
	rep := mustRun(t, Config{Targets: []Target{{URL: u}, {URL: u + "y", Method: "POST"}}, MaxInFlight: 1, Requests: 4})
	var all strings.Builder
	for _, w := range []func(io.Writer) error{rep.WriteText, rep.WriteJSON, rep.WriteHTML} {
		if err := w(&all); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(all.String(), "s3cret") || !strings.Contains(rep.URL, "user:xxxxx@") {
		t.Errorf("report URL %q; the password shows in the reports: %v", rep.URL, strings.Contains(all.String(), "s3cret"))
	}
	m := NewMetrics()
	newRunMetrics(m, []Target{{URL: u}})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), "s3cret") {
		t.Errorf("a metrics label holds the password:\n%s", rec.Body.String())
	}
}

// TestReportOneConnection checks the text report's head line in the
// singular: it said "1 connections".
func TestReportOneConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	for n, want := range map[int]string{1: "closed model, 1 connection, ", 2: "closed model, 2 connections, "} {
		rep := mustRun(t, Config{Targets: []Target{{URL: srv.URL}}, MaxInFlight: n, Requests: 2})
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil || !strings.HasPrefix(b.String(), want) {
			t.Errorf("-c %d: report begins %q, want %q (%v)", n, strings.SplitN(b.String(), "\n", 2)[0], want, err)
		}
	}
}
