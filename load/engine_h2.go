// HTTP/2 through x/net/http2's framer and HPACK codec: connections shared
// by up to h2StreamsPerConn workers, one stream each.

package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
	"golang.org/x/net/http2/hpack"
)

// h2Engine serves HTTP/2 runs (h2 over TLS, h2c with prior knowledge over
// http). net/http's HTTP/2 client made 0.56-0.76× h2load's requests/s on
// one connection with 50 streams (bench/load/h2.sh): it allocates a
// request, a context, a header map and a body pipe per request, encodes
// every header block anew and wakes the caller through its body pipe.
// Here each target's header block is encoded once (HPACK without the
// dynamic table, so the same bytes serve every request), a worker reuses
// its stream and timer, the writes of workers that queue behind one
// another leave in one flush, and one reader goroutine per connection
// discards bodies as they arrive. bench/load/RESULTS.md has the same-run
// ratio against h2load.
type h2Engine struct {
	tr      *connTracker
	timeout time.Duration
	hosts   []*h2Host
	hostOf  []int    // index into hosts, per target
	blocks  [][]byte // HPACK header block, per target
	bodies  [][]byte // request body, per target; nil means none
	readers sync.WaitGroup
}

// h2StreamsPerConn is how many workers share one connection, unless the
// server allows fewer concurrent streams. h2load -m defaults to 1 but is
// run with 50-100; browsers and net/http open one connection per host and
// use up to the server's limit (nginx: 128).
const h2StreamsPerConn = 100

// h2Host is one scheme and address: the connections to it.
type h2Host struct {
	addr    string // host:port to dial
	tls     *tls.Config
	mu      sync.Mutex
	conns   []*h2Conn  // under mu
	dialing sync.Mutex // one dial at a time: the workers behind it share the connection
}

var errNoH2 = failure.New(failure.TLS, "load: http2: the server did not negotiate h2")

func newH2Engine(cfg *Config) (*h2Engine, error) {
	e := &h2Engine{tr: newConnTracker(), timeout: cfg.timeout()}
	index := map[string]int{}
	for _, t := range cfg.Targets {
		u, err := url.Parse(t.URL)
		if err != nil {
			return nil, err
		}
		key := u.Scheme + "://" + hostPort(u)
		hi, ok := index[key]
		if !ok {
			hi = len(e.hosts)
			index[key] = hi
			h := &h2Host{addr: hostPort(u)}
			if u.Scheme == "https" {
				h.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"h2"},
					InsecureSkipVerify: cfg.InsecureSkipVerify}
			}
			e.hosts = append(e.hosts, h)
		}
		e.hostOf = append(e.hostOf, hi)
		e.blocks = append(e.blocks, headerBlock(t, u))
		e.bodies = append(e.bodies, t.Body)
	}
	return e, nil
}

// hostPort returns u's host with the scheme's port if it names none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// h2Skip are the request headers HTTP/2 forbids or carries otherwise.
var h2Skip = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "host": true, "te": true}

// headerBlock encodes t's request headers once. The encoder's dynamic
// table is cut to zero, so nothing in the block refers to earlier blocks
// and the same bytes can start every stream.
func headerBlock(t Target, u *url.URL) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	enc.SetMaxDynamicTableSizeLimit(0)
	// The first field carries the table size update, which this encoder's
	// peer never needs: nothing is indexed. Encode one and drop it.
	_ = enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
	buf.Reset()
	authority := u.Host
	if h := t.Header.Get("Host"); h != "" {
		authority = h
	}
	write := func(k, v string) { _ = enc.WriteField(hpack.HeaderField{Name: k, Value: v}) }
	write(":method", method(t))
	write(":scheme", u.Scheme)
	write(":authority", authority)
	write(":path", u.RequestURI())
	if t.Header.Get("User-Agent") == "" {
		write("user-agent", DefaultUserAgent)
	}
	if auth := userAuth(u); auth != "" && t.Header.Get("Authorization") == "" {
		write("authorization", auth)
	}
	for k, vs := range t.Header {
		k = strings.ToLower(k)
		if h2Skip[k] || k == "content-length" {
			continue
		}
		for _, v := range vs {
			write(k, v)
		}
	}
	if t.Body != nil {
		write("content-length", strconv.Itoa(len(t.Body)))
	}
	return bytes.Clone(buf.Bytes())
}

func (e *h2Engine) tracker() *connTracker { return e.tr }

func (e *h2Engine) abort() { e.tr.closeAll() }

// close closes every connection and returns when their readers and
// flushers have ended.
func (e *h2Engine) close() {
	e.tr.closeAll()
	e.readers.Wait()
}

func (e *h2Engine) newWorker() worker {
	w := &h2Worker{e: e, conns: make([]*h2Conn, len(e.hosts)), timer: time.NewTimer(time.Hour)}
	w.timer.Stop()
	w.st.res = make(chan error, 1)
	return w
}

// attach returns a connection to h with room for one more worker, dialing
// one if none has; dialed reports the latter.
func (h *h2Host) attach(ctx context.Context, e *h2Engine, deadline time.Time) (c *h2Conn, dialed bool, err error) {
	if c := h.room(); c != nil {
		return c, false, nil
	}
	h.dialing.Lock()
	defer h.dialing.Unlock()
	if c := h.room(); c != nil { // dialed while this worker waited
		return c, false, nil
	}
	c, err = dialH2(ctx, e, h, deadline)
	if err != nil {
		return nil, false, err
	}
	h.mu.Lock()
	h.conns = append(h.conns, c)
	c.bound = 1
	h.mu.Unlock()
	return c, true, nil
}

// room binds the caller to an open connection with a free stream, if any.
func (h *h2Host) room() *h2Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		if !c.closing() && c.bound < c.streamLimit() {
			c.bound++
			return c
		}
	}
	return nil
}

// detach unbinds a worker from c; a connection that takes no more streams
// is forgotten, and closed once its last worker has left.
func (h *h2Host) detach(c *h2Conn) {
	h.mu.Lock()
	c.bound--
	last := c.bound == 0 && c.closing()
	if last {
		h.conns = removeConn(h.conns, c)
	}
	h.mu.Unlock()
	if last {
		_ = c.nc.Close()
	}
}

func removeConn(cs []*h2Conn, c *h2Conn) []*h2Conn {
	for i, x := range cs {
		if x == c {
			return append(cs[:i], cs[i+1:]...)
		}
	}
	return cs
}

// dialH2 opens a connection to h and starts its reader.
func dialH2(ctx context.Context, e *h2Engine, h *h2Host, deadline time.Time) (*h2Conn, error) {
	nc, err := e.tr.dial(ctx, "tcp", h.addr, time.Until(deadline))
	if err != nil {
		return nil, err
	}
	if h.tls != nil {
		tc := tls.Client(nc, h.tls)
		hctx, cancel := context.WithDeadline(ctx, deadline)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err == nil && tc.ConnectionState().NegotiatedProtocol != "h2" {
			err = errNoH2
		}
		if err != nil {
			_ = nc.Close()
			return nil, err
		}
		nc = tc
	}
	c := newH2Conn(nc)
	if err := c.handshake(deadline); err != nil {
		_ = nc.Close()
		return nil, err
	}
	e.readers.Add(2)
	go func() {
		defer e.readers.Done()
		c.readLoop()
	}()
	go func() {
		defer e.readers.Done()
		c.flushLoop()
	}()
	return c, nil
}

// h2Worker sends one request at a time, each on a new stream of the
// connection it is bound to (per host).
type h2Worker struct {
	e     *h2Engine
	conns []*h2Conn // per host; nil until the first request to it
	st    h2Stream  // reused by every request
	timer *time.Timer
}

// h2Attempts bounds the sends of a request that servers keep refusing
// unprocessed (REFUSED_STREAM, GOAWAY): a server that refuses everything
// is reported, not retried for the whole timeout.
const h2Attempts = 4

// errH2Timeout is a request that passed its timeout.
var errH2Timeout = failure.New(failure.Timeout, "load: http2: request timed out")

func (w *h2Worker) do(ctx context.Context, t int, now time.Time) (int, error) {
	deadline := now.Add(w.e.timeout)
	for attempt := 1; ; attempt++ {
		status, err := w.roundTrip(ctx, t, deadline)
		// A stream the server refused or never processed (over its
		// GOAWAY's last stream) was not answered: send it again, on
		// another connection if this one is going away.
		if err != nil && attempt < h2Attempts && errors.Is(err, errUnprocessed) && ctx.Err() == nil && time.Now().Before(deadline) {
			continue
		}
		return status, err
	}
}

func (w *h2Worker) roundTrip(ctx context.Context, t int, deadline time.Time) (int, error) {
	hi := w.e.hostOf[t]
	c := w.conns[hi]
	if c != nil && c.closing() {
		w.e.hosts[hi].detach(c)
		w.conns[hi], c = nil, nil
	}
	if c == nil {
		var dialed bool
		var err error
		if c, dialed, err = w.e.hosts[hi].attach(ctx, w.e, deadline); err != nil {
			return 0, err
		}
		w.conns[hi] = c
		if !dialed {
			w.e.tr.reused.Add(1)
		}
	} else {
		w.e.tr.reused.Add(1)
	}
	if err := c.start(ctx, &w.st, w.e.blocks[t], w.e.bodies[t], deadline); err != nil {
		return 0, err
	}
	w.timer.Reset(time.Until(deadline))
	select {
	case err := <-w.st.res:
		return w.st.status, err
	case <-ctx.Done():
		c.cancel(&w.st)
		return 0, ctx.Err()
	case <-w.timer.C:
		c.cancel(&w.st)
		return 0, errH2Timeout
	}
}
