// This file holds robots.txt shared by the crawls of one frontier: the
// first crawl to need a host's robots.txt fetches it and keeps it in the
// frontier for its freshness (24 hours), and the others take that copy, so
// N processes on one Redis fetch each robots.txt once.

package crawler

import (
	"context"
	"encoding/binary"
	"errors"
	"time"
)

// robotsRecord is the answer to a robots.txt request: its status and body
// (at most robotsMaxBytes), or a note saying why it was unreachable.
type robotsRecord struct {
	status  int
	body    []byte
	note    string // unreachable: why; status and body unset
	final   bool   // unreachable for a cause no retry mends (a blocked address, TLS)
	fetched time.Time
}

// lasting reports whether rec is kept for robotsTTL: an unreachable
// robots.txt, a 5xx or a 429 is asked for again by each crawl, after its
// own backoff.
func (rec robotsRecord) lasting() bool { return rec.note == "" && !robotsUnreachable(rec.status) }

// robotsStore is a frontier that keeps the robots.txt files of its crawl's
// hosts for all the crawls sharing it, or for the crawls that resume it:
// RedisFrontier and DiskFrontier.
type robotsStore interface {
	// getRobots returns the copy of host's robots.txt kept, if any, and
	// otherwise whether the caller is now the one to fetch it (claimed):
	// the claim lapses after robotsClaim.
	getRobots(ctx context.Context, host string) (rec robotsRecord, ok, claimed bool, err error)
	// putRobots keeps rec as host's robots.txt until robotsTTL after its
	// fetch, and ends the claim.
	putRobots(ctx context.Context, host string, rec robotsRecord) error
}

// robotsClaim is how long a crawl that set out to fetch a robots.txt for
// all has before another does it; robotsWait is how often the others look
// for its copy meanwhile.
const (
	robotsClaim = 10 * time.Second
	robotsWait  = 20 * time.Millisecond
)

// sharedRobots returns the copy of host's robots.txt that rs keeps,
// waiting for it while another crawl fetches it. It reports false when the
// caller is to fetch it: none is kept and the claim is the caller's (or
// rs failed).
func (p *pipeline) sharedRobots(ctx context.Context, rs robotsStore, host string) (robotsRecord, bool) {
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		rec, ok, claimed, err := rs.getRobots(ctx, host)
		switch {
		case ok:
			return rec, true
		case claimed || err != nil:
			return robotsRecord{}, false
		}
		t.Reset(robotsWait)
		select {
		case <-t.C:
		case <-ctx.Done():
			return robotsRecord{}, false
		}
	}
}

var errBadRobots = errors.New("crawler: corrupt robots.txt copy")

// encodeRobots encodes a lasting rec for a robotsStore.
func encodeRobots(rec robotsRecord) []byte {
	v := binary.AppendUvarint(nil, uint64(rec.status))
	v = binary.AppendVarint(v, rec.fetched.UnixMilli())
	return append(v, rec.body...)
}

// decodeRobots decodes what encodeRobots encoded.
func decodeRobots(v string) (robotsRecord, error) {
	b := []byte(v)
	status, n := binary.Uvarint(b)
	if n <= 0 {
		return robotsRecord{}, errBadRobots
	}
	ms, k := binary.Varint(b[n:])
	if k <= 0 {
		return robotsRecord{}, errBadRobots
	}
	return robotsRecord{status: int(status), fetched: time.UnixMilli(ms), body: b[n+k:]}, nil
}
