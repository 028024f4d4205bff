// One HTTP/2 connection of the load engine: its writer, shared by the
// workers bound to it, and its reader goroutine.

package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	// h2Window is the receive window the engine grants, per connection and
	// per stream. Bodies are discarded as they arrive, so a large window
	// costs no memory and the server never waits for an update.
	h2Window = 1 << 30
	// h2MaxHeaderBlock bounds a response's header block (all its HEADERS
	// and CONTINUATION frames), so a hostile server cannot grow memory.
	h2MaxHeaderBlock = 1 << 20
	// h2MaxFrame is the largest frame the engine reads: the protocol's
	// default, which it does not raise.
	h2MaxFrame = 16 << 10
)

var (
	// errUnprocessed is a stream the server refused or dropped before
	// processing it (REFUSED_STREAM, or above a GOAWAY's last stream): it
	// may be sent again.
	errUnprocessed = failure.New(failure.Reset, "load: http2: stream not processed by the server")
	errH2Closing   = fmt.Errorf("load: http2: connection going away: %w", errUnprocessed)
	errH2Protocol  = failure.New(failure.Protocol, "load: http2: protocol error")
	// errH2Reset is a stream the server reset after taking it.
	errH2Reset = failure.New(failure.Reset, "load: http2: stream reset by the server")
)

// h2Stream is a worker's request in flight. The reader fills status and
// delivers the outcome on res; everything else is guarded by the
// connection's locks as noted.
type h2Stream struct {
	id      uint32      // under h2Conn.smu once registered
	status  int         // written by the reader under smu, read after res
	recvd   int         // body bytes since the last window update; under smu
	sendWin int64       // under h2Conn.fmu
	res     chan error  // buffered 1: exactly one outcome per registration
	ended   atomic.Bool // the outcome was delivered: a body still unsent stops
	waiting atomic.Bool // the body waits for a window: an outcome wakes it
}

// h2Conn is one connection. Writers take wmu and write into bw; a flusher
// goroutine sends what they wrote, after letting the other runnable
// goroutines write theirs, so that the requests of the workers one read
// of responses woke leave in one write, as h2load's event loop sends them.
type h2Conn struct {
	nc     net.Conn
	bound  int         // workers bound to it; under h2Host.mu
	gone   atomic.Bool // takes no new streams: closed, failed or GOAWAY
	dead   atomic.Bool // failed: nothing more is read or written
	maxStr atomic.Int64

	kick   chan struct{} // cap 1: there is something to flush
	done   chan struct{} // closed when the connection fails
	wmu    sync.Mutex
	bw     *bufio.Writer
	fr     *http2.Framer // writes under wmu; reads by the reader only
	nextID uint32        // under wmu

	fmu      sync.Mutex // send flow control, for request bodies
	fcond    *sync.Cond
	sendWin  int64 // connection send window; under fmu
	initWin  int64 // peer's initial stream window; under fmu
	maxFrame int   // peer's largest frame; under fmu

	smu     sync.Mutex
	streams map[uint32]*h2Stream
	err     error // why the connection takes no new streams; under smu

	// The reader's own state.
	dec       *hpack.Decoder
	hdrStream uint32 // stream of the header block being read
	hdrEnd    bool   // that block ends its stream
	hdrLen    int
	hdrStatus int
	recvd     int // connection-level body bytes since the last window update
}

func newH2Conn(nc net.Conn) *h2Conn {
	c := &h2Conn{nc: nc, nextID: 1, sendWin: 65535, initWin: 65535, maxFrame: h2MaxFrame,
		streams: make(map[uint32]*h2Stream), kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.maxStr.Store(h2StreamsPerConn)
	c.fcond = sync.NewCond(&c.fmu)
	c.bw = bufio.NewWriterSize(nc, 32<<10)
	c.fr = http2.NewFramer(c.bw, bufio.NewReaderSize(nc, 64<<10))
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(h2MaxFrame)
	c.dec = hpack.NewDecoder(4096, c.onField)
	c.dec.SetMaxStringLength(h2MaxHeaderBlock)
	return c
}

// handshake sends the client preface, the engine's settings and the
// connection window update, and reads the server's settings (its preface)
// by deadline, so that its stream limit holds from the first request.
func (c *h2Conn) handshake(deadline time.Time) error {
	if _, err := io.WriteString(c.bw, http2.ClientPreface); err != nil {
		return err
	}
	if err := c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: h2MaxHeaderBlock},
	); err != nil {
		return err
	}
	if err := c.fr.WriteWindowUpdate(0, h2Window-65535); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	if err := c.nc.SetReadDeadline(deadline); err != nil {
		return err
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		return readError(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("%w: the server's first frame is %v, not SETTINGS", errH2Protocol, f.Header().Type)
	}
	if err := c.onSettings(sf); err != nil {
		return err
	}
	return c.nc.SetReadDeadline(time.Time{})
}

func (c *h2Conn) closing() bool { return c.gone.Load() }

// streamLimit is how many workers the connection takes.
func (c *h2Conn) streamLimit() int { return int(min(c.maxStr.Load(), h2StreamsPerConn)) }

func (c *h2Conn) lockWrite() { c.wmu.Lock() }

// unlockWrite unlocks and asks the flusher to send what was written.
func (c *h2Conn) unlockWrite() {
	c.wmu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// flushLoop sends what the writers wrote until the connection fails. On
// one core the workers that a read of responses woke are all runnable
// when the flusher is kicked; yielding first lets them write before the
// flush. With a flush per request, the flushes' write calls took 42% of
// the client's CPU samples (pprof, 5 s at -c 50 against nginx); with the
// flusher, strace counted one write per 23 requests.
func (c *h2Conn) flushLoop() {
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		runtime.Gosched()
		c.wmu.Lock()
		err := c.bw.Flush()
		c.wmu.Unlock()
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// start opens a stream for st and sends its headers and body. A body that
// waits for the server's flow-control windows past deadline, or past the
// end of ctx, is abandoned: the stream is reset and start returns
// errH2Timeout or ctx's error.
func (c *h2Conn) start(ctx context.Context, st *h2Stream, block, body []byte, deadline time.Time) error {
	if len(body) > 0 {
		c.fmu.Lock()
		st.sendWin = c.initWin
		c.fmu.Unlock()
	}
	c.lockWrite()
	c.smu.Lock()
	if c.err != nil { // nothing was sent: the worker may try another connection
		err := c.err
		c.smu.Unlock()
		c.wmu.Unlock()
		if !errors.Is(err, errUnprocessed) {
			err = fmt.Errorf("load: http2: connection closed before the request (%v): %w", err, errUnprocessed)
		}
		return err
	}
	st.id, st.status, st.recvd = c.nextID, 0, 0
	st.ended.Store(false)
	c.nextID += 2
	c.streams[st.id] = st
	c.smu.Unlock()
	if st.id > math.MaxInt32-2 { // stream IDs ran out: the next worker dials anew
		c.gone.Store(true)
	}
	werr := c.writeHeaders(st.id, block, len(body) == 0)
	c.unlockWrite()
	if werr == nil && len(body) > 0 {
		werr = c.writeBody(ctx, st, body, deadline)
		switch {
		case errors.Is(werr, errAnswered): // the server answered early
			c.lockWrite()
			werr = c.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
			c.unlockWrite()
		case errors.Is(werr, errH2Timeout) || (werr != nil && ctx.Err() != nil):
			c.cancel(st)
			return werr
		}
	}
	if werr != nil {
		c.fail(werr)
	}
	return nil // the outcome, failure included, arrives on st.res
}

// writeHeaders writes a header block, in CONTINUATION frames past the
// protocol's default frame size. The caller holds wmu.
func (c *h2Conn) writeHeaders(id uint32, block []byte, endStream bool) error {
	first := block[:min(len(block), h2MaxFrame)]
	rest := block[len(first):]
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first,
		EndStream: endStream, EndHeaders: len(rest) == 0})
	for err == nil && len(rest) > 0 {
		n := min(len(rest), h2MaxFrame)
		err = c.fr.WriteContinuation(id, n == len(rest), rest[:n])
		rest = rest[n:]
	}
	return err
}

// writeBody sends body in DATA frames as the flow-control windows allow.
func (c *h2Conn) writeBody(ctx context.Context, st *h2Stream, body []byte, deadline time.Time) error {
	for len(body) > 0 {
		n, err := c.takeWindow(ctx, st, len(body), deadline)
		if err != nil {
			return err
		}
		c.lockWrite()
		err = c.fr.WriteData(st.id, n == len(body), body[:n])
		c.unlockWrite()
		if err != nil {
			return err
		}
		body = body[n:]
	}
	return nil
}

// errAnswered stops a request body that the server answered before it was
// all sent.
var errAnswered = errors.New("load: http2: answered before the request body was sent")

// takeWindow waits until both windows allow some of want bytes and takes
// them. It stops waiting when the connection fails (its error), when the
// stream's outcome arrives (errAnswered), at deadline (errH2Timeout) or
// when ctx ends (ctx's error).
func (c *h2Conn) takeWindow(ctx context.Context, st *h2Stream, want int, deadline time.Time) (int, error) {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	armed := false
	for {
		if c.dead.Load() {
			return 0, c.failed()
		}
		n := int64(min(want, c.maxFrame))
		n = min(n, c.sendWin, st.sendWin)
		if n > 0 {
			c.sendWin -= n
			st.sendWin -= n
			return int(n), nil
		}
		if st.ended.Load() {
			return 0, errAnswered
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if !time.Now().Before(deadline) {
			return 0, errH2Timeout
		}
		if !armed { // wake the wait at the deadline, at ctx's end and at the outcome
			armed = true
			st.waiting.Store(true)
			defer st.waiting.Store(false)
			t := time.AfterFunc(time.Until(deadline), c.wakeWindow)
			defer t.Stop()
			defer context.AfterFunc(ctx, c.wakeWindow)()
		}
		c.fcond.Wait()
	}
}

// wakeWindow wakes the writers waiting for a flow-control window, so that
// they look at their deadlines and contexts.
func (c *h2Conn) wakeWindow() {
	c.fmu.Lock()
	c.fcond.Broadcast()
	c.fmu.Unlock()
}

// failed returns the error the connection failed with, if it did.
func (c *h2Conn) failed() error {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.err
}

// cancel abandons st's stream (timeout or interrupted run).
func (c *h2Conn) cancel(st *h2Stream) {
	c.smu.Lock()
	mine := c.streams[st.id] == st
	if mine {
		delete(c.streams, st.id)
	}
	c.smu.Unlock()
	if !mine {
		<-st.res // the outcome was delivered as the wait ended; drop it
		return
	}
	if c.gone.Load() {
		return
	}
	c.lockWrite()
	_ = c.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
	c.unlockWrite()
}

// complete delivers err (nil: answered) to stream id's worker.
func (c *h2Conn) complete(id uint32, err error) {
	c.smu.Lock()
	st := c.streams[id]
	if st != nil {
		delete(c.streams, id)
		c.deliver(st, err)
	}
	c.smu.Unlock()
	if st != nil && st.waiting.Load() {
		c.wakeWindow()
	}
}

// deliver hands st its outcome. The caller holds smu and has taken st out
// of the streams.
func (c *h2Conn) deliver(st *h2Stream, err error) {
	st.ended.Store(true)
	st.res <- err
}

// fail ends the connection: every stream in flight fails with err and no
// new stream starts on it.
func (c *h2Conn) fail(err error) {
	c.gone.Store(true)
	c.smu.Lock()
	if !c.dead.Load() {
		c.err = err // the first failure, even after a GOAWAY
		c.dead.Store(true)
		close(c.done)
	}
	for id, st := range c.streams {
		delete(c.streams, id)
		c.deliver(st, err)
	}
	c.smu.Unlock()
	_ = c.nc.Close()
	c.fmu.Lock()
	c.fcond.Broadcast()
	c.fmu.Unlock()
}

// goAway stops new streams and fails those above last, which the server
// will not process.
func (c *h2Conn) goAway(last uint32, code http2.ErrCode) {
	c.gone.Store(true)
	c.smu.Lock()
	if c.err == nil {
		c.err = errH2Closing
	}
	for id, st := range c.streams {
		if id > last {
			delete(c.streams, id)
			c.deliver(st, fmt.Errorf("load: http2: GOAWAY %v: %w", code, errUnprocessed))
		}
	}
	c.smu.Unlock()
	c.wakeWindow()
}

// readLoop reads frames until the connection fails or closes.
func (c *h2Conn) readLoop() {
	for {
		f, err := c.fr.ReadFrame()
		if err == nil {
			err = c.handle(f)
		}
		if err != nil {
			c.fail(readError(err))
			return
		}
	}
}

// readError names a read failure by its kind: the framer's protocol
// errors carry no standard error value.
func readError(err error) error {
	var ce http2.ConnectionError
	var se http2.StreamError
	if errors.As(err, &ce) || errors.As(err, &se) || errors.Is(err, http2.ErrFrameTooLarge) {
		return fmt.Errorf("%w: %v", errH2Protocol, err)
	}
	return err
}
