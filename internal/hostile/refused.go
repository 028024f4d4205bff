// This file holds the endpoint that is not there: a refused connection.

package hostile

import (
	"net"
	"testing"
)

// RefusedURL returns an http:// URL on loopback that nothing listens on: a
// port the system has just handed out and that is closed again, so that a
// connection to it is refused. It fails t if no port can be had.
func RefusedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String() + "/"
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return u
}
