// This file holds when to try again: retryable statuses, Retry-After and
// the backoff between attempts.

package failure

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps what RetryAfter returns, so that a huge value cannot
// overflow a time.Duration.
const MaxRetryAfter = 24 * time.Hour

// BackoffBase is the backoff before the first retry; each retry after it
// doubles the ceiling of its wait.
const BackoffBase = 250 * time.Millisecond

// RetryableStatus reports whether a response with this status is worth
// asking for again: 408, 429, 500, 502, 503 and 504.
func RetryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// StatusPause reports, for a retryable status, how long the server asked
// to be left alone: the Retry-After of a 429 or 503, 0 otherwise.
func StatusPause(code int, h http.Header, now time.Time) time.Duration {
	if code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
		return 0
	}
	d, _ := RetryAfter(h.Get("Retry-After"), now)
	return d
}

// RetryAfter parses a Retry-After value, delay-seconds or an HTTP date
// (RFC 9110 §10.2.3), into the wait it asks for as of now, at most
// MaxRetryAfter. A date in the past is a wait of 0. ok is false when v is
// empty or malformed.
func RetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, is := err.(*strconv.NumError); is && ne.Err == strconv.ErrRange {
				return MaxRetryAfter, true
			}
			return 0, false
		}
		return time.Duration(min(secs, uint64(MaxRetryAfter/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}

// Backoff returns the wait before retry n (1 for the first): full jitter,
// uniform in [0, ceiling) where the ceiling is BackoffBase doubled n-1
// times and at most limit. Spreading retries over the whole range keeps
// clients that failed together from retrying together.
func Backoff(n int, limit time.Duration) time.Duration {
	ceiling := BackoffBase << min(max(n-1, 0), 20)
	ceiling = min(ceiling, limit)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// Wait returns the wait before retry n when the server asked for pause
// (0 if it did not): the longer of the two. ok is false when pause is more
// than limit: the caller then gives up rather than wait that long.
func Wait(n int, pause, limit time.Duration) (d time.Duration, ok bool) {
	if pause > limit {
		return 0, false
	}
	return max(Backoff(n, limit), pause), true
}
