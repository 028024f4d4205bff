// This file holds what a fetch returns: Response, Timings and FetchError.

package sluice

import (
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
)

// Response is the outcome of a fetch that got an HTTP response, whatever its
// status: a non-2xx status is not an error. The body has been read (up to
// the fetcher's MaxBody) and closed. The Fetcher does not touch a Response
// once its future is done, so it may be read from any goroutine; Body and
// Header belong to the caller.
type Response struct {
	// URL is the URL that was requested.
	URL string
	// FinalURL is the URL of the last request, after redirects.
	FinalURL string
	// StatusCode is the HTTP status of the final response.
	StatusCode int
	// Header is the header of the final response.
	Header http.Header
	// Body is the body of the final response, at most MaxBody bytes; nil
	// when the Fetcher's DiscardBody is set.
	Body []byte
	// BodySize is the bytes of the body read, at most MaxBody, whether
	// kept in Body or discarded.
	BodySize int64
	// Truncated reports that the body was longer than MaxBody and was cut.
	Truncated bool
	// Attempts is how many times the request was sent, retries included.
	Attempts int
	// Elapsed is the time from the first attempt's start to the end of the
	// final body, retries and their backoff included; it matches
	// [FetchError.Elapsed] for a fetch that failed.
	Elapsed time.Duration
	// Timings are those of the final attempt.
	Timings Timings
}

// Timings break down one attempt of a fetch. A phase that did not happen,
// such as DNS for an IP address or connect on a reused connection, is 0.
type Timings struct {
	// DNS is the time spent resolving the host name.
	DNS time.Duration
	// Connect is the time spent opening the TCP connection.
	Connect time.Duration
	// TLS is the time spent on the TLS handshake.
	TLS time.Duration
	// FirstByte is the time from the start of the attempt to the first
	// byte of the response.
	FirstByte time.Duration
	// Total is the time from the start of the attempt to the end of the
	// body.
	Total time.Duration
}

// ErrBadURL is wrapped by the error of a fetch whose URL cannot be fetched:
// empty, malformed, without a host, or of a scheme other than http and
// https.
var ErrBadURL = failure.New(failure.BadURL, "sluice: bad URL")

// ErrTooManyRedirects is wrapped by the error of a fetch that would follow
// more than MaxRedirects redirects.
var ErrTooManyRedirects = failure.New(failure.Redirects, "sluice: too many redirects")

// FetchError is the error of a fetch that got no usable response: a bad URL,
// a network failure, a timeout or a cancellation. It wraps the cause.
type FetchError struct {
	// URL is the URL that was requested, as given.
	URL string
	// Attempts is how many times the request was sent (0 if never).
	Attempts int
	// Elapsed is the time from the first attempt's start to the failure.
	Elapsed time.Duration
	// Err is the cause.
	Err error
}

// Error reports the URL, its password redacted, and the cause, said once:
// "sluice: fetch ftp://x/: bad URL: ...", not "...: sluice: bad URL: ..."
// for a cause of this package's.
func (e *FetchError) Error() string {
	return "sluice: fetch " + RedactURL(e.URL) + ": " + strings.TrimPrefix(e.Err.Error(), "sluice: ")
}

// ErrHeaderTooLarge is wrapped by the error of an attempt whose response
// header passed the Fetcher's MaxHeaderBytes; its kind is "too-large".
var ErrHeaderTooLarge = failure.New(failure.TooLarge, "sluice: response header too large")

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }
