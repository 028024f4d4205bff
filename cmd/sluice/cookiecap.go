// This file bounds the cookie jar, as browsers do, so that a server that
// sets new cookies on every answer cannot grow it, and the Cookie header
// sent back, without end.

package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"
)

// The caps are those of browsers: RFC 6265 §6.1 asks for at least 4096
// bytes a cookie, 50 cookies a domain and 3000 in all; Chrome keeps 180 a
// domain.
const (
	maxCookieBytes  = 4096
	maxSiteCookies  = 180
	maxCookiesInJar = 3000
)

// cappedJar is an http.CookieJar that keeps at most maxSiteCookies cookies
// for each site (registrable domain) and maxCookiesInJar in all, and
// refuses any cookie over maxCookieBytes. A cookie past a cap is dropped;
// those already kept are updated and deleted as ever. It is safe for
// concurrent use.
type cappedJar struct {
	jar  http.CookieJar
	mu   sync.Mutex
	keys map[string]map[cookieKey]bool // by site, the cookies set
	n    int                           // cookies in keys
}

// cookieKey names a cookie as the jar does: its domain, path and name.
type cookieKey struct{ domain, path, name string }

func newCappedJar(jar http.CookieJar) *cappedJar {
	return &cappedJar{jar: jar, keys: map[string]map[cookieKey]bool{}}
}

// Cookies returns the cookies to send to u.
func (j *cappedJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// SetCookies keeps the cookies of a response from u that the caps allow.
func (j *cappedJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	kept := cookies[:0:0]
	now := time.Now()
	j.mu.Lock()
	for _, c := range cookies {
		if len(c.Name)+len(c.Value) > maxCookieBytes {
			continue
		}
		k, ok := keyOf(u, c)
		if !ok {
			continue
		}
		site, err := publicsuffix.EffectiveTLDPlusOne(k.domain)
		if err != nil {
			site = k.domain
		}
		set := j.keys[site]
		switch {
		case c.MaxAge < 0 || !c.Expires.IsZero() && c.Expires.Before(now): // a deletion
			if set[k] {
				delete(set, k)
				j.n--
			}
		case set[k]: // an update
		case len(set) >= maxSiteCookies || j.n >= maxCookiesInJar:
			continue
		default:
			if set == nil {
				set = map[cookieKey]bool{}
				j.keys[site] = set
			}
			set[k] = true
			j.n++
		}
		kept = append(kept, c)
	}
	j.mu.Unlock()
	j.jar.SetCookies(u, kept)
}

// keyOf returns the key the jar files c under when u sets it: its Domain
// attribute or u's host, and its Path attribute or the directory of u's
// path (RFC 6265 §5.1.4). It reports false for a Domain that u's host is
// not in, which the jar refuses: counted, it would take the room of
// another site's cookies.
func keyOf(u *url.URL, c *http.Cookie) (cookieKey, bool) {
	host := strings.ToLower(u.Hostname())
	domain := strings.ToLower(strings.TrimPrefix(c.Domain, "."))
	switch {
	case domain == "":
		domain = host
	case host != domain && !strings.HasSuffix(host, "."+domain):
		return cookieKey{}, false
	}
	path := c.Path
	if path == "" || path[0] != '/' {
		path = "/"
		if i := strings.LastIndexByte(u.Path, '/'); i > 0 {
			path = u.Path[:i]
		}
	}
	return cookieKey{domain, path, c.Name}, true
}
