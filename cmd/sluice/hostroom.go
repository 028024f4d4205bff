// This file holds hostRoom, the bound on the URLs of one host that fetch
// lets wait, so that a slow host cannot stop the intake of the others.

package main

import (
	"context"
	"net/url"
	"strings"
	"sync"

	"github.com/sluicehq/sluice"
)

// waitingURLs returns how many URLs fetch lets wait for their turn (queued
// in the Fetcher, not yet started) at concurrency c: enough that a stalling
// host does not stop the reading of the lines behind it, few enough to
// stay small (about a kilobyte each).
func waitingURLs(c int) int { return max(10_000, 4*c) }

// hostRoom counts the URLs of each host submitted and not yet done, and
// holds a host back at its share, half the waiting room: whatever one host
// does, the other half stays free for the others. It is safe for
// concurrent use.
type hostRoom struct {
	share int
	mu    sync.Mutex
	n     map[string]int
	freed chan struct{} // signalled when a URL is done
}

func newHostRoom(waiting int) *hostRoom {
	return &hostRoom{share: max(waiting/2, 1), n: make(map[string]int), freed: make(chan struct{}, 1)}
}

// hostKey is the host (with port) a URL's request waits in line for.
func hostKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// acquire takes room for one URL of host, waiting while the host has its
// share; it returns false if ctx ends first.
func (r *hostRoom) acquire(ctx context.Context, host string) bool {
	for {
		r.mu.Lock()
		if r.n[host] < r.share {
			r.n[host]++
			r.mu.Unlock()
			return true
		}
		r.mu.Unlock()
		select {
		case <-r.freed:
		case <-ctx.Done():
			return false
		}
	}
}

// release gives back the room of one URL of host.
func (r *hostRoom) release(host string) {
	r.mu.Lock()
	if r.n[host]--; r.n[host] <= 0 {
		delete(r.n, host)
	}
	r.mu.Unlock()
	select {
	case r.freed <- struct{}{}:
	default:
	}
}

// waitingSet holds the futures submitted and not yet done, so that an
// interruption can cancel those still waiting for their turn: only the
// requests already started get the grace period. It is safe for
// concurrent use.
type waitingSet struct {
	mu sync.Mutex
	m  map[*sluice.Future[*sluice.Response]]struct{}
}

func (w *waitingSet) add(f *sluice.Future[*sluice.Response]) {
	w.mu.Lock()
	if w.m == nil {
		w.m = make(map[*sluice.Future[*sluice.Response]]struct{})
	}
	w.m[f] = struct{}{}
	w.mu.Unlock()
}

func (w *waitingSet) remove(f *sluice.Future[*sluice.Response]) {
	w.mu.Lock()
	delete(w.m, f)
	w.mu.Unlock()
}

// cancelPending cancels every future not yet started.
func (w *waitingSet) cancelPending() {
	w.mu.Lock()
	var pending []*sluice.Future[*sluice.Response]
	for f := range w.m {
		if f.State() == sluice.FuturePending {
			pending = append(pending, f)
		}
	}
	w.mu.Unlock()
	for _, f := range pending { // outside the lock: Cancel runs callbacks
		f.Cancel()
	}
}
