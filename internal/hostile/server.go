// Package hostile serves misbehaving HTTP endpoints on loopback for tests
// and measurements of clients that must stay bounded against them: slow
// and endless bodies, lying lengths, resets, gzip bombs, huge headers,
// sitemap bombs, endless link trees, open redirects and junk robots.txt.
// It is the adversarial sibling of crawler/crawltest.
package hostile

import (
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Server is a loopback HTTP server whose paths misbehave. Every request's
// headers are recorded so a test can tell where credentials went (see
// [Server.Saw]). The endpoints, with their query parameters:
//
//	/ok                      a small page
//	/stall                   never answers (until the client or Close ends it)
//	/slowloris?every=D       headers, then one body byte every D (default 100ms), forever
//	/endless                 a body that never ends
//	/lie?length=N&send=M     claims Content-Length N, sends M bytes, closes
//	/reset                   resets the connection without answering
//	/gzip?size=N             Content-Encoding gzip inflating to N zero bytes (default 1 GiB)
//	/headers?size=N          N bytes of response headers (default 9 MB)
//	/statusline              a malformed status line
//	/badheader               a header line without a colon
//	/sitemap-index?n=K&size=N  a sitemap index of K gzip sitemaps, each inflating to N bytes of whitespace
//	/sitemap/i.xml.gz?size=N one such sitemap
//	/tree/...                an HTML page linking to ten children, without end
//	/redirect?to=URL         302 to URL, wherever it points
//	/loop                    302 to itself, for ever
//	/links?to=URL&to=URL     an HTML page linking to each URL
//	/base?to=URL             an HTML page whose <base href> is URL, linking to "ok"
//	/robots.txt              as Robots says
//
// Create one with [New] or [NewTLS] and Close it when done. A Server is
// safe for concurrent use.
type Server struct {
	*httptest.Server

	cfg  Config
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	seen map[string][]string // header name → paths of requests that had it
}

// Config sets what a [Server] serves where an endpoint has no parameter.
// The zero value serves 404 for /robots.txt.
type Config struct {
	// Robots selects /robots.txt: "" is 404, "junk" is 64 KiB of binary
	// junk, "endless" a robots.txt that never ends, anything else is
	// served as written.
	Robots string
	// Sitemaps lists "/sitemap-index" in robots.txt when Robots is "".
	Sitemaps bool
	// SitemapQuery is the query of the sitemap index robots.txt lists,
	// such as "n=10&size=67108864"; "" means the defaults.
	SitemapQuery string
}

// New starts a Server on a loopback port.
func New(cfg Config) *Server {
	s := newServer(cfg)
	s.Start()
	return s
}

// NewTLS starts a Server on a loopback port with a self-signed certificate
// that no client trusts unless given s.Client() or told to skip
// verification.
func NewTLS(cfg Config) *Server {
	s := newServer(cfg)
	s.StartTLS()
	return s
}

func newServer(cfg Config) *Server {
	memberOnce.Do(members) // before any request, so none waits for it
	s := &Server{cfg: cfg, done: make(chan struct{}), seen: make(map[string][]string)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Refused handshakes and cut connections are the point; not news.
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	return s
}

// Close ends every endless or stalled response and shuts the server down.
func (s *Server) Close() {
	s.once.Do(func() { close(s.done) })
	s.Server.CloseClientConnections()
	s.Server.Close()
}

// Saw returns the paths (with queries) of the requests that carried header
// name, in arrival order.
func (s *Server) Saw(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen[http.CanonicalHeaderKey(name)]...)
}

// Requests returns how many requests have carried header name.
func (s *Server) Requests(name string) int { return len(s.Saw(name)) }

func (s *Server) record(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range r.Header {
		s.seen[k] = append(s.seen[k], r.URL.RequestURI())
	}
	s.seen["*"] = append(s.seen["*"], r.URL.RequestURI())
}

// Hits returns the paths of every request served, in arrival order.
func (s *Server) Hits() []string { return s.Saw("*") }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	path := r.URL.Path
	switch {
	case path == "/ok":
		w.Write([]byte("<html><body>ok</body></html>\n"))
	case path == "/stall":
		s.stall(r)
	case path == "/slowloris":
		s.slowloris(w, r)
	case path == "/endless":
		s.endless(w, r)
	case path == "/lie":
		s.lie(w, r)
	case path == "/reset":
		s.reset(w)
	case path == "/gzip":
		s.gzip(w, r, nil)
	case path == "/headers":
		s.headers(w, r)
	case path == "/statusline":
		s.raw(w, "HTTP/1.1 abc Broken\r\n\r\n")
	case path == "/badheader":
		s.raw(w, "HTTP/1.1 200 OK\r\nthis line has no colon\r\nContent-Length: 0\r\n\r\n")
	case path == "/sitemap-index":
		s.sitemapIndex(w, r)
	case strings.HasPrefix(path, "/sitemap/"):
		s.gzip(w, r, []byte(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`))
	case strings.HasPrefix(path, "/tree/") || path == "/tree":
		s.tree(w, r)
	case path == "/links":
		s.links(w, r)
	case path == "/base":
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><head><base href="%s"></head><body><a href="ok">ok</a></body></html>`, html.EscapeString(r.URL.Query().Get("to")))
	case path == "/loop":
		http.Redirect(w, r, "/loop", http.StatusFound)
	case path == "/redirect":
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	case path == "/robots.txt":
		s.robots(w, r)
	default:
		http.NotFound(w, r)
	}
}
