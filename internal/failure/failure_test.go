package failure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/textproto"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/internal/hostile"
	"github.com/sluicehq/sluice/internal/netguard"
)

var errRobots = New(Robots, "crawler: disallowed by robots.txt")

func TestClassify(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: "http://x/", Err: err} }
	tests := []struct {
		name      string
		err       error
		kind      Kind
		retryable bool
	}{
		{"nil", nil, Other, false},
		{"plain", errors.New("something odd"), Other, false},
		{"sentinel", fmt.Errorf("wrapped: %w", errRobots), Robots, false},
		{"cancelled", urlErr(context.Canceled), Cancelled, false},
		{"deadline", urlErr(context.DeadlineExceeded), Timeout, true},
		{"os deadline", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, Timeout, true},
		{"dns not found", urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}), DNS, false},
		{"dns temporary", &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, DNS, true},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, Timeout, true},
		{"refused", urlErr(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), Connect, true},
		{"unreachable", syscall.EHOSTUNREACH, Connect, true},
		{"reset", urlErr(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), Reset, true},
		{"broken pipe", &net.OpError{Op: "write", Err: syscall.EPIPE}, Reset, true},
		{"closed before answer", urlErr(fmt.Errorf("transport: %w", io.EOF)), Reset, true},
		{"cut short", urlErr(io.ErrUnexpectedEOF), Read, true},
		{"read op", &net.OpError{Op: "read", Err: errors.New("odd")}, Read, true},
		{"bad header line", textproto.ProtocolError("malformed MIME header line: x"), Protocol, false},
		{"unknown authority", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), TLS, false},
		{"hostname", x509.HostnameError{Host: "x"}, TLS, false},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, TLS, false},
		{"scheme mismatch", urlErr(http.ErrSchemeMismatch), TLS, false},
		{"alert", tls.AlertError(40), TLS, false},
		{"blocked dial", urlErr(&net.OpError{Op: "dial", Err: &netguard.BlockedError{Addr: netip.MustParseAddr("169.254.169.254")}}), Blocked, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.kind {
				t.Errorf("Classify(%v) = %s, want %s", tt.err, got, tt.kind)
			}
			if got := Retryable(tt.err); got != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.retryable)
			}
		})
	}
}

// TestClassifyLive names failures produced by real connections.
func TestClassifyLive(t *testing.T) {
	closed := hostile.RefusedURL(t)

	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	hijack := func(reply string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			c, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString(reply)
			buf.Flush()
			c.Close()
		}))
	}
	short := hijack("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
	defer short.Close()
	garbage := hijack("HTTP/1.1 200 OK\r\nbad header line\r\n\r\n")
	defer garbage.Close()
	hangup := hijack("")
	defer hangup.Close()

	tests := []struct {
		name      string
		url       string
		kind      Kind
		retryable bool
	}{
		{"refused", closed, Connect, true},
		{"untrusted certificate", tlsSrv.URL, TLS, false},
		{"http to https", "https://" + plain.Listener.Addr().String() + "/", TLS, false},
		{"body cut short", short.URL, Read, true},
		{"malformed header", garbage.URL, Protocol, false},
		{"hang up", hangup.URL, Reset, true},
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get(tt.url)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if got := Classify(err); got != tt.kind {
				t.Errorf("Classify(%v) = %s, want %s", err, got, tt.kind)
			}
			if got := Retryable(err); got != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tt.retryable)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	seen := map[string]bool{}
	for k := range NumKinds {
		s := k.String()
		if s == "" || seen[s] {
			t.Errorf("kind %d: name %q empty or repeated", k, s)
		}
		seen[s] = true
	}
	if got := (NumKinds + 3).String(); got != "other" {
		t.Errorf("out of range kind = %q", got)
	}
}
