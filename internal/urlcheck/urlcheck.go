// Package urlcheck holds the URL checks that the Fetcher, the command line
// and the load generator share, each with its own wording of the error.
package urlcheck

import (
	"net/url"
	"strconv"
	"strings"
)

// BadPort returns u's port and true when u has a port that no dial can
// use: url.Parse takes any digits as a port, and the dial would then fail
// as a connect error, retried, instead of the bad URL it is.
func BadPort(u *url.URL) (port string, bad bool) {
	p := u.Port()
	if p == "" {
		return "", false
	}
	_, err := strconv.ParseUint(p, 10, 16)
	return p, err != nil
}

// EscapeStrayPercent returns u with each "%" that starts no escape
// written "%25". The URL standard keeps such a "%" as it is (a link to
// "/100%"), and browsers send it so; net/url refuses it, and "%25" is the
// one way it sends it, which servers decode to "%".
func EscapeStrayPercent(u string) string {
	i := strings.IndexByte(u, '%')
	if i < 0 {
		return u
	}
	b := []byte(u[:i])
	for ; i < len(u); i++ {
		if u[i] == '%' && !(i+2 < len(u) && IsHex(u[i+1]) && IsHex(u[i+2])) {
			b = append(b, "%25"...)
		} else {
			b = append(b, u[i])
		}
	}
	return string(b)
}

// IsHex reports whether c is a hexadecimal digit, in either case.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}
