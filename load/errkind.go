// Sorting transport failures into the kinds the report counts.

package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"
)

// Error kinds counted in [Report.Errors].
const (
	KindDNS     = "dns"     // name resolution failed
	KindDial    = "dial"    // TCP connect failed (refused, unreachable, dial timeout)
	KindTLS     = "tls"     // handshake or certificate failure
	KindTimeout = "timeout" // the request ran past Config.Timeout
	KindReset   = "reset"   // the server reset or closed the connection before answering
	KindRead    = "read"    // the response was cut short or malformed
	KindOther   = "other"   // anything else
)

var errKinds = [...]string{KindDNS, KindDial, KindTLS, KindTimeout, KindReset, KindRead, KindOther}

const (
	kDNS = iota
	kDial
	kTLS
	kTimeout
	kReset
	kRead
	kOther
	numKinds
)

// classify maps a request error to one of the kinds above.
func classify(err error) int {
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		netErr  net.Error
		recErr  tls.RecordHeaderError
		certErr *tls.CertificateVerificationError
		alert   tls.AlertError
		unk     x509.UnknownAuthorityError
		host    x509.HostnameError
		inv     x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &dnsErr):
		return kDNS
	case errors.Is(err, fasthttp.ErrDialTimeout),
		errors.As(err, &opErr) && opErr.Op == "dial",
		errors.Is(err, syscall.ECONNREFUSED):
		return kDial
	case errors.As(err, &recErr), errors.As(err, &certErr), errors.As(err, &alert),
		errors.As(err, &unk), errors.As(err, &host), errors.As(err, &inv),
		strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "HTTP response to HTTPS client"):
		return kTLS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout),
		errors.As(err, &netErr) && netErr.Timeout():
		return kTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF),
		strings.Contains(err.Error(), "server closed idle connection"),
		strings.Contains(err.Error(), "connection reset"):
		return kReset
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &opErr) && opErr.Op == "read",
		strings.Contains(err.Error(), "malformed"), strings.Contains(err.Error(), "cannot parse"),
		strings.Contains(err.Error(), "unexpected EOF"), strings.Contains(err.Error(), "body size exceeds"),
		strings.Contains(err.Error(), "invalid response"), strings.Contains(err.Error(), "frame too large"),
		strings.Contains(err.Error(), "error when reading response headers"):
		return kRead
	}
	return kOther
}
