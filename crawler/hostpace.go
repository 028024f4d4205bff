// This file holds the hook by which a frontier shared by several crawls
// paces hosts for all of them together.

package crawler

import (
	"context"
	"fmt"
	"time"
)

// HostLimits are the limits on one host that a [PacedFrontier] keeps for
// all the crawls sharing it. The zero value sets none.
type HostLimits struct {
	// Delay is the pause between two starts on the host, counted from when
	// the previous start was due; 0 means none.
	Delay time.Duration
	// PerHost caps the host's URLs in flight, all crawls together; 0
	// means no cap.
	PerHost int
}

// PacedFrontier is a Frontier that keeps each host's pacing and in-flight
// cap itself, so that crawls in several processes sharing it hold a host
// to one rate and one cap between them. The scheduler pops through
// PopPaced when its frontier has it.
type PacedFrontier interface {
	Frontier
	// PopPaced is Pop under lim. When the host may not start now, it
	// returns a *HostWaitError saying how long to wait.
	PopPaced(ctx context.Context, host string, lim HostLimits) (e Entry, ok bool, err error)
}

// HostWaitError is the error of PopPaced for a host that may not start
// now: its next start is not due, or it is at its cap.
type HostWaitError struct {
	// Host is the host key.
	Host string
	// Wait is how long to wait before asking again.
	Wait time.Duration
}

// Error says the host and the wait.
func (e *HostWaitError) Error() string {
	return fmt.Sprintf("crawler: host %s may start in %v", e.Host, e.Wait)
}
