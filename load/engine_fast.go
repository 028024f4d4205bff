// Plain HTTP/1.1 through fasthttp.

package load

import (
	"context"
	"net"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// fastEngine serves plain-HTTP/1.1 runs. net/http alone cannot keep up
// with wrk: against nginx serving 1 KiB on one core, with the client on
// another, wrk -t1 -c50 made 71.4k requests/s, a net/http client loop
// 37-38k and hey 21.7k. fasthttp's HostClient reuses request and response
// buffers and reaches the wrk figure (see bench/load/RESULTS.md for the
// same-run ratio). TLS and HTTP/2 stay on net/http (engine_std.go).
type fastEngine struct {
	tr      *connTracker
	clients []*fasthttp.HostClient // per target
	reqs    []*fasthttp.Request    // request templates, per target
	timeout time.Duration
}

func newFastEngine(cfg *Config) (*fastEngine, error) {
	e := &fastEngine{tr: newConnTracker(), timeout: cfg.timeout()}
	byHost := map[string]*fasthttp.HostClient{}
	conns := cfg.connections()
	for _, t := range cfg.Targets {
		u, err := url.Parse(t.URL)
		if err != nil {
			return nil, err
		}
		addr := fasthttp.AddMissingPort(u.Host, false)
		hc := byHost[addr]
		if hc == nil {
			timeout := e.timeout
			hc = &fasthttp.HostClient{
				Addr: addr,
				DialTimeout: func(addr string, d time.Duration) (net.Conn, error) {
					return e.tr.dial(context.Background(), "tcp", addr, min(d, timeout))
				},
				MaxConns:                  conns,
				MaxIdemponentCallAttempts: 1,
				RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) {
					return false, false // a load test counts failures; it never retries them
				},
				DisablePathNormalizing:   true,
				NoDefaultUserAgentHeader: true,
				MaxIdleConnDuration:      time.Minute,
				// Bodies are read whole; cap them so a hostile server cannot
				// grow memory without bound (connections × this cap at most).
				MaxResponseBodySize: maxBody,
			}
			byHost[addr] = hc
		}
		req := fasthttp.AcquireRequest()
		req.SetRequestURI(t.URL)
		req.Header.SetMethod(method(t))
		req.Header.Set("User-Agent", DefaultUserAgent)
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
		if cfg.DisableKeepAlives {
			req.SetConnectionClose()
		}
		e.clients = append(e.clients, hc)
		e.reqs = append(e.reqs, req)
	}
	return e, nil
}

// maxBody bounds one response body held in memory by the fasthttp engine.
const maxBody = 64 << 20

func method(t Target) string {
	if t.Method == "" {
		return "GET"
	}
	return t.Method
}

func (e *fastEngine) tracker() *connTracker { return e.tr }

func (e *fastEngine) abort() { e.tr.closeAll() }

func (e *fastEngine) close() {
	for _, hc := range e.clients {
		hc.CloseIdleConnections()
	}
	e.tr.closeAll()
	for _, r := range e.reqs {
		fasthttp.ReleaseRequest(r)
	}
	e.reqs = nil
}

func (e *fastEngine) newWorker() worker {
	w := &fastWorker{e: e, req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse(), last: -1}
	return w
}

type fastWorker struct {
	e    *fastEngine
	req  *fasthttp.Request
	resp *fasthttp.Response
	last int // target whose template req holds
}

func (w *fastWorker) do(_ context.Context, t int) (int, error) {
	if t != w.last {
		w.e.reqs[t].CopyTo(w.req)
		w.last = t
	}
	w.req.SetTimeout(w.e.timeout)
	err := w.e.clients[t].Do(w.req, w.resp)
	status := w.resp.StatusCode()
	w.resp.Reset()
	if err != nil {
		return 0, err
	}
	return status, nil
}
