// What the runner needs from an HTTP client, and the connection
// bookkeeping both clients share.

package load

import (
	"context"
	"encoding/base64"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// engine sends requests. newWorker is called once per sending goroutine;
// a worker is used by that goroutine only.
type engine interface {
	newWorker() worker
	// abort closes every open connection so that in-flight requests fail
	// at once (used when the run is interrupted).
	abort()
	close()
	tracker() *connTracker
}

type worker interface {
	// do sends one request for target t, starting at now, and reads the
	// whole response.
	do(ctx context.Context, t int, now time.Time) (status int, err error)
}

// connTracker counts dials and wire bytes and remembers open connections
// so abort can close them. Safe for concurrent use.
type connTracker struct {
	opened   atomic.Int64
	reused   atomic.Int64 // requests sent on a connection opened before them
	bytesIn  atomic.Int64
	bytesOut atomic.Int64

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newConnTracker() *connTracker {
	return &connTracker{conns: make(map[*trackedConn]struct{})}
}

func (t *connTracker) dial(ctx context.Context, network, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	t.opened.Add(1)
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	t.conns[tc] = struct{}{}
	t.mu.Unlock()
	return tc, nil
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	t      *connTracker
	closed atomic.Bool
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.bytesIn.Add(int64(n))
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.t.bytesOut.Add(int64(n))
	return n, err
}

func (c *trackedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	}
	return c.Conn.Close()
}

// userAuth returns the Authorization value net/http sends for the user
// and password of u, or "" when u names no user.
func userAuth(u *url.URL) string {
	if u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))
}
