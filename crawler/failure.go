// This file holds what a crawl does with failures: which are retried,
// after how long, and how they are named in the summary.

package crawler

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice"
)

// retry sends j back to the frontier with a backoff.
func (p *pipeline) retry(j *job, pause time.Duration) {
	e := j.e
	e.Attempts++
	wait := pause
	if wait == 0 {
		// 500 ms, 1 s, 2 s … up to 30 s, each spread over ±50%.
		base := min(500*time.Millisecond<<min(e.Attempts-1, 6), 30*time.Second)
		wait = base/2 + rand.N(base)
	}
	e.NotBefore = time.Now().Add(wait).UnixNano()
	j.e = e
	p.s.results <- &result{j: j, retry: true, pause: pause}
}

// retryableErr reports whether a failed fetch may succeed if tried again.
func retryableErr(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, errStopped) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// retryableStatus reports whether a status asks for a retry, and the pause
// its Retry-After asks for (at most a minute; longer ones are not waited).
func retryableStatus(resp *sluice.Response) (time.Duration, bool) {
	switch resp.StatusCode {
	case 429, 500, 502, 503, 504:
	default:
		return 0, false
	}
	ra := resp.Header.Get("Retry-After")
	if ra == "" || resp.StatusCode != 429 && resp.StatusCode != 503 {
		return 0, true
	}
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(ra); err == nil {
		d = time.Until(t)
	}
	if d > time.Minute {
		return 0, false
	}
	return max(d, 0), true
}

// errKind names the kind of a failure for the summary.
func errKind(err error) string {
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	var cert *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	switch {
	case errors.Is(err, ErrRobots):
		return "robots"
	case errors.Is(err, ErrTooManyRedirects):
		return "redirects"
	case errors.Is(err, errStopped) || errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &dns):
		return "dns"
	case errors.As(err, &cert) || errors.As(err, &rec):
		return "tls"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "reset"
	case errors.As(err, &op) && op.Op == "dial":
		return "connect"
	case errors.Is(err, ErrBadURL):
		return "url"
	}
	return "other"
}
