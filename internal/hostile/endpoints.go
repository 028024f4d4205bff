// This file holds the misbehaving endpoints of a Server.

package hostile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// param returns the integer query parameter name, or def.
func param(r *http.Request, name string, def int64) int64 {
	if n, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64); err == nil && n >= 0 {
		return n
	}
	return def
}

func (s *Server) stall(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}

func (s *Server) slowloris(w http.ResponseWriter, r *http.Request) {
	every, err := time.ParseDuration(r.URL.Query().Get("every"))
	if err != nil || every <= 0 {
		every = 100 * time.Millisecond
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := w.Write([]byte{' '}); err != nil || rc.Flush() != nil {
			return
		}
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

var chunk = bytes.Repeat([]byte("<p>endless</p>\n"), 4096)

func (s *Server) endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		default:
		}
	}
}

func (s *Server) lie(w http.ResponseWriter, r *http.Request) {
	length, send := param(r, "length", 1<<20), param(r, "send", 10)
	w.Header().Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(http.StatusOK)
	w.Write(bytes.Repeat([]byte("x"), int(min(send, length))))
	w.(http.Flusher).Flush()
	if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
		c.Close()
	}
}

func (s *Server) reset(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) // close with RST
	}
	c.Close()
}

// raw writes a hand-made response on the hijacked connection and closes it.
func (s *Server) raw(w http.ResponseWriter, resp string) {
	c, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	buf.WriteString(resp)
	buf.Flush()
}

// zeroMember is one gzip member inflating to 1 MiB of filler; a bomb is
// many members back to back, which gzip readers inflate as one stream.
var (
	memberOnce sync.Once
	zeroMember []byte
	wsMember   []byte
)

const memberSize = 1 << 20

func members() {
	mk := func(b byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(bytes.Repeat([]byte{b}, memberSize))
		zw.Close()
		return buf.Bytes()
	}
	zeroMember, wsMember = mk(0), mk(' ')
}

// gzip serves a gzip bomb of size bytes (default 1 GiB); with a prefix it
// is a sitemap: the prefix, then whitespace, served as a .gz file.
func (s *Server) gzip(w http.ResponseWriter, r *http.Request, prefix []byte) {
	memberOnce.Do(members)
	size := param(r, "size", 1<<30)
	member := zeroMember
	if prefix != nil {
		member = wsMember
		w.Header().Set("Content-Type", "application/gzip")
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(prefix)
		zw.Close()
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
	} else {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
	}
	for n := int64(0); n < size; n += memberSize {
		if _, err := w.Write(member); err != nil {
			return
		}
		select {
		case <-s.done:
			return
		default:
		}
	}
}

// headers writes size bytes of headers, in 4 KiB lines, before a short body.
func (s *Server) headers(w http.ResponseWriter, r *http.Request) {
	size := param(r, "size", 9_000_000)
	c, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	buf.WriteString("HTTP/1.1 200 OK\r\n")
	line := strings.Repeat("h", 4096)
	for i := int64(0); i*4110 < size; i++ {
		if _, err := fmt.Fprintf(buf, "X-Junk-%d: %s\r\n", i, line); err != nil {
			return
		}
	}
	buf.WriteString("Content-Length: 2\r\nConnection: close\r\n\r\nok")
	buf.Flush()
}

func (s *Server) sitemapIndex(w http.ResponseWriter, r *http.Request) {
	n, size := param(r, "n", 100), param(r, "size", 1<<30)
	w.Header().Set("Content-Type", "application/xml")
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`+"\n")
	for i := range n {
		fmt.Fprintf(bw, "<sitemap><loc>http://%s/sitemap/%d.xml.gz?size=%d</loc></sitemap>\n", r.Host, i, size)
	}
	fmt.Fprint(bw, "</sitemapindex>\n")
	bw.Flush()
}

// tree serves a page of an endless tree: every page links to ten children.
func (s *Server) tree(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	base := strings.TrimSuffix(r.URL.Path, "/")
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><body>\n")
	for i := range 10 {
		fmt.Fprintf(&b, "<a href=\"%s/%d\">child %d</a>\n", base, i, i)
	}
	b.WriteString("</body></html>\n")
	io.WriteString(w, b.String())
}

func (s *Server) robots(w http.ResponseWriter, r *http.Request) {
	switch s.cfg.Robots {
	case "":
		if s.cfg.Sitemaps {
			fmt.Fprintf(w, "User-agent: *\nAllow: /\nSitemap: http://%s/sitemap-index?%s\n", r.Host, s.cfg.SitemapQuery)
			return
		}
		http.NotFound(w, r)
	case "junk":
		junk := make([]byte, 64<<10)
		for i := range junk {
			junk[i] = byte(i*7919 + i>>3)
		}
		w.Write(junk)
	case "endless":
		w.Header().Set("Content-Type", "text/plain")
		for {
			if _, err := io.WriteString(w, "User-agent: *\nDisallow: /nothing/\n"); err != nil {
				return
			}
			select {
			case <-s.done:
				return
			case <-r.Context().Done():
				return
			default:
			}
		}
	default:
		io.WriteString(w, s.cfg.Robots)
	}
}

func (s *Server) links(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	var b strings.Builder
	b.WriteString("<html><body>\n")
	for _, u := range r.URL.Query()["to"] {
		fmt.Fprintf(&b, "<a href=\"%s\">link</a>\n", html.EscapeString(u))
	}
	b.WriteString("</body></html>\n")
	io.WriteString(w, b.String())
}
