// Plain HTTP/1.1 through fasthttp's request and response codecs, one
// connection per worker.

package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// fastEngine serves plain-HTTP/1.1 runs. net/http alone cannot keep up
// with wrk: against nginx serving 1 KiB on one core, with the client on
// another, wrk -t1 -c50 made 71.4k requests/s, a net/http client loop
// 37-38k and hey 21.7k. Here each worker owns one connection, like a wrk
// connection, and reuses fasthttp's zero-allocation request writer and
// response parser; there is no pool, lock or background goroutine between
// the worker and its socket. bench/load/RESULTS.md has the same-run ratio
// against wrk. TLS stays on net/http (engine_std.go); HTTP/2 has its own
// engine (engine_h2.go).
//
// Each target's request is serialized once, when the engine is built, and
// its bytes written as they are for every request: fasthttp's header
// writer took 2-3% of the client's CPU at wrk speed (perf, 4 s at -c 50).
type fastEngine struct {
	tr      *connTracker
	addrs   []string // host:port per target
	raw     [][]byte // serialized request, per target
	closes  []bool   // the request asks the server to close, per target
	heads   []bool   // the request is a HEAD, whose answer has no body, per target
	timeout time.Duration
}

func newFastEngine(cfg *Config) (*fastEngine, error) {
	e := &fastEngine{tr: newConnTracker(), timeout: cfg.timeout()}
	for _, t := range cfg.Targets {
		u, err := url.Parse(t.URL)
		if err != nil {
			return nil, err
		}
		e.addrs = append(e.addrs, fasthttp.AddMissingPort(u.Host, false))
		raw, closes, err := fastRequest(t, u, cfg.DisableKeepAlives)
		if err != nil {
			return nil, err
		}
		e.raw = append(e.raw, raw)
		e.closes = append(e.closes, closes)
		e.heads = append(e.heads, method(t) == http.MethodHead)
	}
	return e, nil
}

// fastRequest serializes t's request, and reports whether it asks the
// server to close the connection. The request line carries u's path and
// query as written, as net/http sends them, and the Host header is set
// before fasthttp sees a URL: fasthttp's URI parser would clean the path
// (/a/../b, // and %2F become other paths), and with a Host header given
// it wrote the absolute URL as the request line, whose host an origin
// server takes instead of the header's.
func fastRequest(t Target, u *url.URL, noKeepAlive bool) ([]byte, bool, error) {
	req := &fasthttp.Request{}
	req.Header.SetRequestURI(u.RequestURI())
	req.Header.SetHost(u.Host)
	req.Header.SetMethod(method(t))
	req.Header.SetNoDefaultContentType(true) // send only the Content-Type given
	req.Header.Set("User-Agent", DefaultUserAgent)
	if auth := userAuth(u); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, vs := range t.Header {
		for i, v := range vs {
			if i == 0 {
				req.Header.Set(k, v)
			} else {
				req.Header.Add(k, v)
			}
		}
	}
	if t.Body != nil {
		req.SetBody(t.Body)
	}
	if noKeepAlive {
		req.SetConnectionClose()
	}
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := req.Write(bw); err != nil {
		return nil, false, err
	}
	if err := bw.Flush(); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), req.ConnectionClose(), nil
}

func method(t Target) string {
	if t.Method == "" {
		return "GET"
	}
	return t.Method
}

func (e *fastEngine) tracker() *connTracker { return e.tr }

func (e *fastEngine) abort() { e.tr.closeAll() }

func (e *fastEngine) close() { e.tr.closeAll() }

func (e *fastEngine) newWorker() worker {
	return &fastWorker{e: e}
}

type fastWorker struct {
	e    *fastEngine
	conn net.Conn
	addr string // where conn goes
	// deadline is conn's current deadline, within 1% of Timeout of the
	// request's own.
	deadline time.Time
	br       *bufio.Reader
	resp     fasthttp.Response
}

func (w *fastWorker) do(ctx context.Context, t int, now time.Time) (int, error) {
	deadline := now.Add(w.e.timeout)
	status, reused, err := w.roundTrip(ctx, t, deadline)
	if err != nil && reused && staleConn(err) && time.Now().Before(deadline) {
		// The server closed an idle keep-alive connection just as we sent;
		// nothing was answered, so send once more on a fresh connection.
		status, _, err = w.roundTrip(ctx, t, deadline)
	}
	return status, err
}

func (w *fastWorker) roundTrip(ctx context.Context, t int, deadline time.Time) (status int, reused bool, err error) {
	addr := w.e.addrs[t]
	if w.conn != nil && w.addr != addr {
		w.closeConn()
	}
	if w.conn == nil {
		c, err := w.e.tr.dial(ctx, "tcp", addr, time.Until(deadline))
		if err != nil {
			return 0, false, err
		}
		w.conn, w.addr, w.deadline = c, addr, time.Time{}
		if w.br == nil {
			w.br = bufio.NewReaderSize(c, 16<<10)
		} else {
			w.br.Reset(c)
		}
	} else {
		reused = true
		w.e.tr.reused.Add(1)
	}
	// Moving a socket deadline costs about 130 ns, 1% of a request at
	// wrk speed; move it only when the request would otherwise get less
	// than 99% of the timeout.
	if deadline.Sub(w.deadline) > w.e.timeout/100 {
		if err := w.conn.SetDeadline(deadline); err != nil {
			w.closeConn()
			return 0, reused, err
		}
		w.deadline = deadline
	}
	_, err = w.conn.Write(w.e.raw[t])
	if err == nil {
		// The body is streamed into io.Discard: a load test needs its
		// length and its arrival, not its bytes, and memory must not grow
		// with what a server sends.
		w.resp.StreamBody = true
		w.resp.SkipBody = w.e.heads[t]
		err = w.resp.ReadLimitBody(w.br, 0)
		if bs := w.resp.BodyStream(); err == nil && bs != nil {
			_, err = io.Copy(io.Discard, bs)
			if cerr := w.resp.CloseBodyStream(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		w.closeConn()
		w.resp.Reset()
		return 0, reused, err
	}
	status = w.resp.StatusCode()
	if w.resp.ConnectionClose() || w.e.closes[t] {
		w.closeConn()
	}
	w.resp.Reset()
	return status, reused, nil
}

func (w *fastWorker) closeConn() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// staleConn reports whether err is what a write to, or a read from, a
// connection the server had already closed returns before any answer.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, fasthttp.ErrConnectionClosed)
}
