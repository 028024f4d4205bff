package load

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2cServer starts an httptest server speaking HTTP/2 with prior
// knowledge (and HTTP/1.1).
func h2cServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	return srv
}

// TestH2Exchanges covers what one HTTP/2 exchange can carry: request
// bodies past the flow-control windows, large responses, headers, 1xx
// answers before the real one, and a request that times out without
// harming the next on the same connection.
func TestH2Exchanges(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 300<<10) // past the 64 KiB initial windows
	var bodyOK, headerOK atomic.Int64
	srv := h2cServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/post":
			b, _ := io.ReadAll(r.Body)
			if bytes.Equal(b, big) && r.ContentLength == int64(len(big)) {
				bodyOK.Add(1)
			}
		case "/big":
			_, _ = w.Write(bytes.Repeat([]byte("r"), 2<<20))
		case "/header":
			if r.Header.Get("X-Load") == "yes" && r.Host == "example.test" && strings.HasPrefix(r.UserAgent(), "sluice/") {
				headerOK.Add(1)
			}
			w.WriteHeader(http.StatusTeapot)
		case "/early":
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
		case "/slow":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	tests := []struct {
		name   string
		target Target
		want   func(*Report) bool
	}{
		{"body past the windows", Target{Method: "POST", URL: srv.URL + "/post", Body: big},
			func(r *Report) bool { return r.Success == 20 && bodyOK.Load() == 20 }},
		{"large responses", Target{URL: srv.URL + "/big"},
			func(r *Report) bool { return r.Success == 20 && r.BytesRead > 20*2<<20 }},
		{"headers and status", Target{URL: srv.URL + "/header", Header: http.Header{"X-Load": {"yes"}, "Host": {"example.test"}}},
			func(r *Report) bool { return r.StatusCodes["418"] == 20 && headerOK.Load() == 20 }},
		{"1xx before the answer", Target{URL: srv.URL + "/early"},
			func(r *Report) bool { return r.StatusCodes["202"] == 20 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := mustRun(t, Config{Targets: []Target{tt.target}, MaxInFlight: 4, Requests: 20, HTTP2: true})
			if !tt.want(rep) || rep.ConnsOpened != 1 {
				t.Fatalf("ok %d, status %v, errors %v, bytes read %d, connections %d",
					rep.Success, rep.StatusCodes, rep.ErrorSamples, rep.BytesRead, rep.ConnsOpened)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		rep := mustRun(t, Config{Targets: []Target{{URL: srv.URL + "/slow"}, {URL: srv.URL + "/header"}},
			MaxInFlight: 2, Requests: 8, HTTP2: true, Timeout: 200 * time.Millisecond})
		if rep.Errors[failure.Timeout.String()] != 4 || rep.StatusCodes["418"] != 4 || rep.ConnsOpened != 1 {
			t.Fatalf("errors %v, status %v, connections %d; want 4 timeouts and 4 answers on one connection",
				rep.Errors, rep.StatusCodes, rep.ConnsOpened)
		}
	})
}

// rawH2Server answers every stream with a 200 and no body after a
// millisecond, allows maxStreams at a time, and sends GOAWAY after
// goAwayAfter streams of a connection (closing it once those are
// answered). It records the most streams it saw open at once.
type rawH2Server struct {
	ln          net.Listener
	maxStreams  uint32
	goAwayAfter int
	peak        atomic.Int64
	conns       atomic.Int64
	wg          sync.WaitGroup
}

func newRawH2Server(t *testing.T, maxStreams uint32, goAwayAfter int) *rawH2Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawH2Server{ln: ln, maxStreams: maxStreams, goAwayAfter: goAwayAfter}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

func (s *rawH2Server) close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *rawH2Server) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(br, preface); err != nil {
		return
	}
	fr := http2.NewFramer(c, br)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var wmu sync.Mutex // the framer's writes
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: s.maxStreams})
	var block bytes.Buffer
	_ = hpack.NewEncoder(&block).WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	var open atomic.Int64
	var answers sync.WaitGroup
	defer answers.Wait()
	served := 0
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				wmu.Lock()
				_ = fr.WriteSettingsAck()
				wmu.Unlock()
			}
		case *http2.MetaHeadersFrame:
			if served >= s.goAwayAfter { // over the GOAWAY: not processed
				continue
			}
			served++
			if n := open.Add(1); n > s.peak.Load() {
				s.peak.Store(n)
			}
			id := f.StreamID
			answers.Go(func() {
				time.Sleep(time.Millisecond) // so that streams overlap
				wmu.Lock()
				open.Add(-1)
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
				wmu.Unlock()
			})
			if served == s.goAwayAfter {
				wmu.Lock()
				_ = fr.WriteGoAway(id, http2.ErrCodeNo, nil)
				wmu.Unlock()
				answers.Wait()
				time.Sleep(20 * time.Millisecond) // streams above the last may arrive meanwhile
				return
			}
		}
	}
}

// TestH2GoAwayAndStreamLimit checks that the engine keeps to the server's
// stream limit by opening more connections, and that a GOAWAY loses no
// request: the streams the server did not take are sent again on a new
// connection.
func TestH2GoAwayAndStreamLimit(t *testing.T) {
	s := newRawH2Server(t, 2, 10)
	defer s.close()
	rep := mustRun(t, Config{Targets: []Target{{URL: "http://" + s.ln.Addr().String() + "/"}},
		MaxInFlight: 6, Requests: 200, HTTP2: true})
	if rep.Success != 200 || rep.Failed != 0 {
		t.Fatalf("ok %d failed %d (%v), want 200 answered", rep.Success, rep.Failed, rep.ErrorSamples)
	}
	// 200 requests, 10 per connection: at least 20 connections.
	if rep.ConnsOpened < 20 || s.conns.Load() != rep.ConnsOpened {
		t.Fatalf("%d connections opened (server saw %d), want at least 20", rep.ConnsOpened, s.conns.Load())
	}
	if p := s.peak.Load(); p > 2 || p < 2 {
		t.Fatalf("at most %d streams open at once on a connection, want 2 (the server's limit)", p)
	}
}

// TestH2BodyStalledByServer checks that a request body the server's
// flow-control windows hold back ends with the request: at its timeout,
// when the server answers before reading it, and when the run is
// interrupted. Each run must end well before the stall would.
func TestH2BodyStalledByServer(t *testing.T) {
	body := bytes.Repeat([]byte("s"), 4<<20) // past the server's 1 MiB windows
	srv := h2cServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stall":
			<-r.Context().Done()
		case "/refuse":
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
	}))
	defer srv.Close()
	target := func(path string) []Target {
		return []Target{{Method: "POST", URL: srv.URL + path, Body: body}}
	}
	tests := []struct {
		name    string
		cfg     Config
		cancel  time.Duration // interrupt the run after this long; 0: never
		want    func(*Report) bool
		wantErr bool
	}{
		{"timeout", Config{Targets: target("/stall"), MaxInFlight: 1, Requests: 3, HTTP2: true, Timeout: 200 * time.Millisecond},
			0, func(r *Report) bool { return r.Errors[failure.Timeout.String()] == 3 }, false},
		{"answered early", Config{Targets: target("/refuse"), MaxInFlight: 2, Requests: 6, HTTP2: true, Timeout: time.Minute},
			0, func(r *Report) bool { return r.StatusCodes["413"] == 6 && len(r.Errors) == 0 }, false},
		{"interrupted", Config{Targets: target("/stall"), MaxInFlight: 2, Requests: 4, HTTP2: true, Timeout: time.Minute},
			300 * time.Millisecond, func(r *Report) bool { return r.Interrupted && r.Success == 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			type outcome struct {
				rep *Report
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				rep, err := Run(ctx, tt.cfg)
				done <- outcome{rep, err}
			}()
			select {
			case o := <-done:
				if (o.err != nil) != tt.wantErr {
					t.Fatalf("Run error %v, want error %v", o.err, tt.wantErr)
				}
				if o.rep == nil || !tt.want(o.rep) {
					t.Fatalf("report %+v", o.rep)
				}
			case <-time.After(20 * time.Second):
				cancel()
				<-done
				t.Fatal("the run waited on the stalled body past 20 s")
			}
		})
	}
}
