// Package failure is the one failure policy of sluice, its crawler and its
// load generator: it names a failed request's kind from the error value
// (never its message), says which failures and statuses are worth another
// attempt, parses Retry-After and spaces retries with exponential backoff
// and full jitter.
package failure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"syscall"

	"github.com/sluicehq/sluice/internal/netguard"
)

// Kind is the kind of a failed request. The zero value is Other.
type Kind uint8

// The kinds, as named in fetch and crawl records (error_kind), crawl
// statistics and the errors of a load report.
const (
	Other     Kind = iota // anything else
	DNS                   // the host name did not resolve
	Connect               // the TCP connection was refused or unreachable
	TLS                   // handshake, certificate or plain HTTP on an https URL
	Timeout               // a deadline passed: connect, TLS, headers or body
	Reset                 // the server reset or closed the connection before answering
	Read                  // the response was cut short
	Protocol              // the response broke HTTP: malformed status line or header
	Cancelled             // the caller cancelled, or the fetcher stopped first
	TooLarge              // the response passed a size limit
	Redirects             // more redirects than allowed
	Robots                // robots.txt does not allow the URL
	BadURL                // the URL cannot be fetched: bad syntax, scheme or host
	Blocked               // the address guard refused a non-public address (DenyPrivate)
	NumKinds              // the number of kinds, for arrays indexed by Kind
)

var names = [NumKinds]string{
	Other: "other", DNS: "dns", Connect: "connect", TLS: "tls", Timeout: "timeout",
	Reset: "reset", Read: "read", Protocol: "protocol", Cancelled: "cancelled",
	TooLarge: "too-large", Redirects: "redirects", Robots: "robots", BadURL: "bad-url",
	Blocked: "blocked",
}

// String returns the kind's name in the vocabulary above ("too-large").
func (k Kind) String() string {
	if k < NumKinds {
		return names[k]
	}
	return "other"
}

// kinded is an error that names its own kind: sentinels made with New.
type kinded interface{ FailureKind() Kind }

type sentinel struct {
	kind Kind
	msg  string
}

func (e *sentinel) Error() string     { return e.msg }
func (e *sentinel) FailureKind() Kind { return e.kind }

// New returns a sentinel error with message msg that Classify names k.
// Packages declare their own sentinels with it (ErrRobots, ErrBadURL) so
// that a failure is named by its value.
func New(k Kind, msg string) error { return &sentinel{kind: k, msg: msg} }

// Mark returns err, unchanged in its message and what it wraps, as an
// error that Classify names k: for the failures whose kind is known from
// where they happened rather than from their value.
func Mark(k Kind, err error) error { return &marked{kind: k, err: err} }

type marked struct {
	kind Kind
	err  error
}

func (e *marked) Error() string     { return e.err.Error() }
func (e *marked) Unwrap() error     { return e.err }
func (e *marked) FailureKind() Kind { return e.kind }

// Classify names the kind of err from its value and the values it wraps.
// A nil error is Other.
func Classify(err error) Kind {
	var k kinded
	switch {
	case err == nil:
		return Other
	case errors.As(err, &k):
		return k.FailureKind()
	case errors.Is(err, netguard.ErrBlocked):
		return Blocked // before Connect: the guard fails the dial
	case errors.Is(err, context.Canceled):
		return Cancelled
	case isTimeout(err):
		return Timeout
	}
	return classifyNet(err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &t) && t.Timeout()
}

// classifyNet names network, TLS and protocol failures.
func classifyNet(err error) Kind {
	var (
		dns   *net.DNSError
		op    *net.OpError
		proto textproto.ProtocolError
	)
	switch {
	case errors.As(err, &dns):
		return DNS
	case isTLS(err):
		return TLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, io.EOF):
		return Reset
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.As(err, &op) && op.Op == "dial":
		return Connect
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &op) && op.Op == "read":
		return Read
	case errors.As(err, &proto):
		return Protocol
	}
	return Other
}

func isTLS(err error) bool {
	var (
		rec   tls.RecordHeaderError
		cert  *tls.CertificateVerificationError
		alert tls.AlertError
		unk   x509.UnknownAuthorityError
		host  x509.HostnameError
		inv   x509.CertificateInvalidError
	)
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &rec) || errors.As(err, &cert) ||
		errors.As(err, &alert) || errors.As(err, &unk) || errors.As(err, &host) || errors.As(err, &inv)
}

// Retryable reports whether a request that failed with err may succeed if
// sent again: only transient failures are (a connection refused, reset or
// cut short, a timeout, a name server that did not answer). TLS failures,
// malformed responses, bad URLs, cancellations and unknown errors are not.
func Retryable(err error) bool {
	switch Classify(err) {
	case Connect, Reset, Read, Timeout:
		return true
	case DNS:
		var dns *net.DNSError
		return errors.As(err, &dns) && !dns.IsNotFound && (dns.IsTemporary || dns.IsTimeout)
	}
	return false
}
