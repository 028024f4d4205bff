// HTTPS over HTTP/1.1, and HTTP/2 without keep-alive, through net/http.

package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"time"
)

// stdEngine serves runs with https targets over HTTP/1.1, where fasthttp
// has no advantage worth a second TLS stack, and HTTP/2 runs without
// keep-alive.
type stdEngine struct {
	tr      *connTracker
	client  *http.Client
	reqs    []Target
	timeout time.Duration
}

func newStdEngine(cfg *Config) *stdEngine {
	e := &stdEngine{tr: newConnTracker(), reqs: cfg.Targets, timeout: cfg.timeout()}
	conns := cfg.maxInFlight()
	t := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return e.tr.dial(ctx, network, addr, e.timeout)
		},
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableKeepAlives:   cfg.DisableKeepAlives,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	var p http.Protocols
	if cfg.HTTP2 {
		p.SetHTTP2(true)
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	t.Protocols = &p
	e.client = &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a load test measures the answer it got
		},
	}
	return e
}

func (e *stdEngine) tracker() *connTracker { return e.tr }

func (e *stdEngine) abort() { e.tr.closeAll() }

func (e *stdEngine) close() {
	e.client.CloseIdleConnections()
	e.tr.closeAll()
}

func (e *stdEngine) newWorker() worker {
	w := &stdWorker{e: e}
	w.trace.GotConn = func(info httptrace.GotConnInfo) {
		if info.Reused {
			e.tr.reused.Add(1)
		}
	}
	return w
}

type stdWorker struct {
	e     *stdEngine
	trace httptrace.ClientTrace
	buf   [32 << 10]byte
}

func (w *stdWorker) do(ctx context.Context, ti int, now time.Time) (int, error) {
	t := &w.e.reqs[ti]
	ctx, cancel := context.WithDeadline(ctx, now.Add(w.e.timeout))
	defer cancel()
	var body io.Reader
	if t.Body != nil {
		body = bytes.NewReader(t.Body)
	}
	ctx = httptrace.WithClientTrace(ctx, &w.trace)
	req, err := http.NewRequestWithContext(ctx, method(*t), t.URL, body)
	if err != nil {
		return 0, err
	}
	for k, vs := range t.Header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", DefaultUserAgent)
	}
	if host := t.Header.Get("Host"); host != "" {
		req.Host = host
	}
	resp, err := w.e.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	for {
		_, err := resp.Body.Read(w.buf[:])
		if err == io.EOF {
			return resp.StatusCode, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
