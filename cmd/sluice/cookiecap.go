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
// those already kept are updated and deleted as ever, and one that has
// expired gives its place back. It is safe for concurrent use.
type cappedJar struct {
	jar     http.CookieJar
	now     func() time.Time // the clock; nil means time.Now
	mu      sync.Mutex
	keys    map[string]map[cookieKey]time.Time // by site, the cookies kept and when each expires (zero: with the session)
	n       int                                // cookies in keys
	soonest time.Time                          // the first expiry in keys, zero if none: sweep finds nothing before it
}

// cookieKey names a cookie as the jar does: its domain, path and name.
type cookieKey struct{ domain, path, name string }

func newCappedJar(jar http.CookieJar) *cappedJar {
	return &cappedJar{jar: jar, keys: map[string]map[cookieKey]time.Time{}}
}

// Cookies returns the cookies to send to u.
func (j *cappedJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// SetCookies keeps the cookies of a response from u that the caps allow.
func (j *cappedJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	now := time.Now()
	if j.now != nil {
		now = j.now()
	}
	kept := cookies[:0:0]
	j.mu.Lock()
	for _, c := range cookies {
		if j.keep(u, c, now) {
			kept = append(kept, c)
		}
	}
	j.mu.Unlock()
	j.jar.SetCookies(u, kept)
}

// keep counts c, set by u, against the caps and reports whether the jar
// may have it. The caller holds mu.
func (j *cappedJar) keep(u *url.URL, c *http.Cookie, now time.Time) bool {
	if len(c.Name)+len(c.Value) > maxCookieBytes {
		return false
	}
	k, ok := keyOf(u, c)
	if !ok {
		return false
	}
	site, err := publicsuffix.EffectiveTLDPlusOne(k.domain)
	if err != nil {
		site = k.domain
	}
	expires, deletion := expiry(c, now)
	_, kept := j.keys[site][k]
	switch {
	case deletion:
		if kept {
			j.forget(site, k)
		}
		return true
	case !kept && j.full(site, now):
		return false
	}
	if j.keys[site] == nil {
		j.keys[site] = map[cookieKey]time.Time{}
	}
	if !kept {
		j.n++
	}
	j.keys[site][k] = expires // an update takes the new expiry
	if !expires.IsZero() && (j.soonest.IsZero() || expires.Before(j.soonest)) {
		j.soonest = expires
	}
	return true
}

// expiry returns when c expires (zero for a cookie of the session), or
// that it deletes the cookie it names, as net/http/cookiejar reads it:
// Max-Age before Expires. Read otherwise, a cookie with a Max-Age and an
// Expires that has passed, which the jar keeps, was counted as a deletion
// and took no place.
func expiry(c *http.Cookie, now time.Time) (expires time.Time, deletion bool) {
	switch {
	case c.MaxAge < 0:
		return time.Time{}, true
	case c.MaxAge > 0:
		return now.Add(time.Duration(c.MaxAge) * time.Second), false
	case c.Expires.IsZero():
		return time.Time{}, false
	case !c.Expires.After(now):
		return time.Time{}, true
	}
	return c.Expires, false
}

// full reports whether site, or the jar, has no place for another cookie
// once the expired ones are forgotten. The caller holds mu.
func (j *cappedJar) full(site string, now time.Time) bool {
	if len(j.keys[site]) < maxSiteCookies && j.n < maxCookiesInJar {
		return false
	}
	j.sweep(now)
	return len(j.keys[site]) >= maxSiteCookies || j.n >= maxCookiesInJar
}

// sweep forgets the cookies that have expired, which the jar no longer
// sends: kept, they held their places for ever. It looks only once the
// first of them is due. The caller holds mu.
func (j *cappedJar) sweep(now time.Time) {
	if j.soonest.IsZero() || now.Before(j.soonest) {
		return
	}
	j.soonest = time.Time{}
	for site, set := range j.keys {
		for k, exp := range set {
			switch {
			case exp.IsZero():
			case !exp.After(now):
				j.forget(site, k)
			case j.soonest.IsZero() || exp.Before(j.soonest):
				j.soonest = exp
			}
		}
	}
}

// forget drops the cookie k of site, and site once it has none. The
// caller holds mu.
func (j *cappedJar) forget(site string, k cookieKey) {
	delete(j.keys[site], k)
	j.n--
	if len(j.keys[site]) == 0 {
		delete(j.keys, site)
	}
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
