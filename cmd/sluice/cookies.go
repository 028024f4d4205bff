// This file holds the cookie options of fetch and crawl: the jar, curl's
// -b NAME=VALUE, and Netscape cookies.txt files.

package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// netscapeCookie is one line of a cookies.txt file.
type netscapeCookie struct {
	domain     string // without a leading dot
	subdomains bool   // the cookie is sent to subdomains too
	cookie     *http.Cookie
}

// parseNetscapeCookies reads a cookies.txt file as curl and browsers'
// export tools write it: tab-separated domain, include-subdomains,
// path, secure, expiry (Unix seconds, 0 for a session cookie), name and
// value, one cookie a line; # starts a comment except in the
// "#HttpOnly_" prefix. Expired cookies are dropped.
func parseNetscapeCookies(r io.Reader, now time.Time) ([]netscapeCookie, error) {
	var out []netscapeCookie
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		httpOnly := false
		if rest, ok := strings.CutPrefix(line, "#HttpOnly_"); ok {
			line, httpOnly = rest, true
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) == 6 {
			f = append(f, "") // an empty value
		}
		if len(f) != 7 {
			return nil, fmt.Errorf("line %d: want 7 tab-separated fields, got %d", n, len(f))
		}
		exp, err := strconv.ParseInt(f[4], 10, 64)
		domain := strings.ToLower(strings.TrimPrefix(f[0], "."))
		switch {
		case err != nil:
			return nil, fmt.Errorf("line %d: expiry %q is not a number", n, f[4])
		case domain == "" || strings.ContainsAny(domain, "/ "):
			return nil, fmt.Errorf("line %d: bad domain %q", n, f[0])
		case f[5] == "":
			return nil, fmt.Errorf("line %d: empty cookie name", n)
		case exp > 0 && time.Unix(exp, 0).Before(now):
			continue
		}
		c := &http.Cookie{Name: f[5], Value: f[6], Path: f[2], Secure: strings.EqualFold(f[3], "TRUE"), HttpOnly: httpOnly}
		if exp > 0 {
			c.Expires = time.Unix(exp, 0)
		}
		out = append(out, netscapeCookie{domain: domain, subdomains: strings.EqualFold(f[1], "TRUE"), cookie: c})
	}
	return out, sc.Err()
}

// cookieOptions are the cookie flags: --cookies turns the jar on, and each
// -b is NAME=VALUE pairs sent with every request (as curl's -b) or a
// cookies.txt file loaded into the jar (an argument without '=', as in
// curl).
type cookieOptions struct {
	jar     bool
	cookies []string
}

// build returns the jar (nil when no cookie option is given) and the
// Cookie header value for every request.
func (o *cookieOptions) build(cmd string) (http.CookieJar, string, error) {
	if !o.jar && len(o.cookies) == 0 {
		return nil, "", nil
	}
	inner, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		return nil, "", err
	}
	jar := newCappedJar(inner)
	var header []string
	for _, arg := range o.cookies {
		if strings.Contains(arg, "=") {
			header = append(header, strings.TrimSpace(arg))
			continue
		}
		if err := loadCookieFile(jar, arg); err != nil {
			return nil, "", usageErrorf("%s: --cookie %s: %v", cmd, arg, err)
		}
	}
	return jar, strings.Join(header, "; "), nil
}

func loadCookieFile(jar http.CookieJar, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	cs, err := parseNetscapeCookies(f, time.Now())
	if err != nil {
		return err
	}
	for _, nc := range cs {
		u := &url.URL{Scheme: "http", Host: nc.domain, Path: "/"}
		if nc.cookie.Secure {
			u.Scheme = "https"
		}
		if nc.subdomains {
			nc.cookie.Domain = nc.domain
		}
		jar.SetCookies(u, []*http.Cookie{nc.cookie})
	}
	return nil
}
