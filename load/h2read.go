// What the HTTP/2 connection's reader does with each frame.

package load

import (
	"fmt"
	"strconv"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// handle acts on one frame; an error ends the connection.
func (c *h2Conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.HeadersFrame:
		c.hdrStream, c.hdrEnd, c.hdrLen, c.hdrStatus = f.StreamID, f.StreamEnded(), 0, 0
		c.dec.SetEmitEnabled(true)
		return c.onBlock(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		return c.onBlock(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.RSTStreamFrame:
		err := fmt.Errorf("%w: %v", errH2Reset, f.ErrCode)
		if f.ErrCode == http2.ErrCodeRefusedStream {
			err = fmt.Errorf("load: http2: stream refused: %w", errUnprocessed)
		}
		c.complete(f.StreamID, err)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.WindowUpdateFrame:
		c.onWindowUpdate(f.StreamID, int64(f.Increment))
	case *http2.PingFrame:
		if !f.IsAck() {
			c.lockWrite()
			err := c.fr.WritePing(true, f.Data)
			c.unlockWrite()
			return err
		}
	case *http2.GoAwayFrame:
		c.goAway(f.LastStreamID, f.ErrCode)
	case *http2.PushPromiseFrame: // push is disabled in the engine's settings
		return fmt.Errorf("%w: PUSH_PROMISE with push disabled", errH2Protocol)
	}
	return nil
}

// onData counts a DATA frame against the receive windows, discards its
// payload and completes the stream at its end.
func (c *h2Conn) onData(f *http2.DataFrame) error {
	n := int(f.Length) // padding included, as flow control counts it
	c.recvd += n
	if c.recvd >= h2Window/2 {
		if err := c.windowUpdate(0, c.recvd); err != nil {
			return err
		}
		c.recvd = 0
	}
	c.smu.Lock()
	st := c.streams[f.StreamID]
	var update int
	if st != nil {
		st.recvd += n
		if st.recvd >= h2Window/2 && !f.StreamEnded() {
			update, st.recvd = st.recvd, 0
		}
	}
	c.smu.Unlock()
	if update > 0 {
		if err := c.windowUpdate(f.StreamID, update); err != nil {
			return err
		}
	}
	if f.StreamEnded() {
		c.complete(f.StreamID, nil)
	}
	return nil
}

func (c *h2Conn) windowUpdate(id uint32, n int) error {
	c.lockWrite()
	err := c.fr.WriteWindowUpdate(id, uint32(n))
	c.unlockWrite()
	return err
}

// onBlock feeds a header block fragment to the HPACK decoder, which must
// see every block, even of streams already abandoned, to keep its table.
func (c *h2Conn) onBlock(frag []byte, end bool) error {
	c.hdrLen += len(frag)
	if c.hdrLen > h2MaxHeaderBlock {
		return fmt.Errorf("%w: response header block over %d bytes", errH2Protocol, h2MaxHeaderBlock)
	}
	if _, err := c.dec.Write(frag); err != nil {
		return fmt.Errorf("%w: %v", errH2Protocol, err)
	}
	if !end {
		return nil
	}
	if err := c.dec.Close(); err != nil {
		return fmt.Errorf("%w: %v", errH2Protocol, err)
	}
	switch {
	case c.hdrStatus >= 100 && c.hdrStatus < 200: // informational; the answer follows
		return nil
	case c.hdrStatus != 0:
		c.smu.Lock()
		if st := c.streams[c.hdrStream]; st != nil {
			st.status = c.hdrStatus
		}
		c.smu.Unlock()
	}
	if c.hdrEnd {
		c.complete(c.hdrStream, c.streamOutcome(c.hdrStream))
	}
	return nil
}

// streamOutcome is what a stream that ends now delivers: nil once it has
// a status, else a protocol error.
func (c *h2Conn) streamOutcome(id uint32) error {
	c.smu.Lock()
	defer c.smu.Unlock()
	if st := c.streams[id]; st != nil && st.status == 0 {
		return fmt.Errorf("%w: response without :status", errH2Protocol)
	}
	return nil
}

// onField is the HPACK decoder's callback: it keeps the status, the
// first field of a response, and turns itself off for the rest of the
// block. The decoder then builds no strings for the other fields (seven
// allocations per nginx response) unless it must index them.
func (c *h2Conn) onField(f hpack.HeaderField) {
	if f.Name == ":status" {
		if s, err := strconv.Atoi(f.Value); err == nil && s >= 100 && s <= 999 {
			c.hdrStatus = s
		}
		c.dec.SetEmitEnabled(false)
	}
}

// onSettings applies the server's settings and acknowledges them.
func (c *h2Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	c.fmu.Lock()
	_ = f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			c.maxStr.Store(int64(s.Val))
		case http2.SettingInitialWindowSize:
			c.adjustStreamWindows(int64(s.Val) - c.initWin)
			c.initWin = int64(s.Val)
		case http2.SettingMaxFrameSize:
			c.maxFrame = int(min(s.Val, h2MaxFrame))
		}
		return nil
	})
	c.fcond.Broadcast()
	c.fmu.Unlock()
	c.lockWrite()
	err := c.fr.WriteSettingsAck()
	c.unlockWrite()
	return err
}

// adjustStreamWindows moves the send window of every open stream by d, as
// a change of the initial window does. The caller holds fmu.
func (c *h2Conn) adjustStreamWindows(d int64) {
	c.smu.Lock()
	for _, st := range c.streams {
		st.sendWin += d
	}
	c.smu.Unlock()
}

// onWindowUpdate widens a send window and wakes the body writers.
func (c *h2Conn) onWindowUpdate(id uint32, n int64) {
	c.fmu.Lock()
	if id == 0 {
		c.sendWin += n
	} else {
		c.smu.Lock()
		if st := c.streams[id]; st != nil {
			st.sendWin += n
		}
		c.smu.Unlock()
	}
	c.fcond.Broadcast()
	c.fmu.Unlock()
}
