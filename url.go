// This file holds the check of the URLs a Fetcher takes.

package sluice

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/urlcheck"
)

// ParseURL parses a URL to fetch: surrounding spaces are ignored, the scheme
// must be http or https, the host must not be empty and a port, if any, must
// be a number from 0 to 65535.
func ParseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, fmt.Errorf("%w: empty URL", ErrBadURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: invalid URL: %w", ErrBadURL, err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	return u, nil
}

func checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return fmt.Errorf("%w: missing scheme (want http:// or https://)", ErrBadURL)
	default:
		return fmt.Errorf("%w: unsupported scheme %q (want http or https)", ErrBadURL, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: missing host", ErrBadURL)
	}
	if !utf8.ValidString(u.Host) {
		// url.Parse takes such bytes in an IPv6 zone, and u.String()
		// escapes them into a URL it refuses.
		return fmt.Errorf("%w: host %q is not UTF-8", ErrBadURL, u.Host)
	}
	if p, bad := urlcheck.BadPort(u); bad {
		return fmt.Errorf("%w: port %s out of range (0 to 65535)", ErrBadURL, p)
	}
	return nil
}

// hostKey returns the key of u's host in the Fetcher's per-host lines: its
// host name in lower case, with its port unless it is the scheme's default,
// so that http://example.com/ and http://Example.com:80/ share one line,
// one PerHost cap and one HostRate.
func hostKey(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port != "" && port != defaultPort(u.Scheme) {
		return net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// sameOrigin reports whether a and b have one origin: scheme, host and
// port, the port defaulted from the scheme.
func sameOrigin(a, b *url.URL) bool {
	return Origin(a) == Origin(b)
}

// Origin returns u's origin as "scheme://host:port", lower-cased, with the
// scheme's default port filled in, so that URLs of one origin give one
// string.
func Origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// defaultPort returns the port of scheme, in any case, when a URL leaves
// it out: "80" for http, "443" for https, "" for any other.
func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// RedactURL returns raw with the password of its user information, if
// any, replaced by "xxxxx", for records and messages. In a string that
// does not parse as a URL, the password of a SCHEME://USER:PASSWORD@ at its
// start is replaced all the same; other strings are returned as they are.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "@") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redactUnparsed(raw)
	}
	if u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	return u.Redacted()
}

// redactUnparsed replaces the password in the authority of raw, a URL
// that url.Parse refused (a bad port, a broken IPv6 literal), so that a
// message about it does not show it.
func redactUnparsed(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	auth := rest
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		auth = rest[:end]
	}
	at := strings.LastIndex(auth, "@")
	colon := strings.Index(auth[:max(at, 0)], ":")
	if at < 0 || colon < 0 {
		return raw
	}
	return raw[:i+3] + auth[:colon+1] + "xxxxx" + rest[at:]
}
