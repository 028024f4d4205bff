// Package urlcheck holds the URL checks that the Fetcher, the command line
// and the load generator share, each with its own wording of the error.
package urlcheck

import (
	"net/url"
	"strconv"
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
