// This file holds the robots.txt cache a durable frontier keeps: each
// host's robots.txt and when it was fetched, so that a resumed crawl uses
// it while it is fresh instead of asking every host again.

package crawler

import (
	"context"
	"time"
)

// robotsKey is the key of host's robots.txt: b<host>.
func robotsKey(host string) []byte { return append([]byte{kindRobots}, host...) }

// getRobots implements robotsStore: one process works on a DiskFrontier,
// so a caller that finds no fresh copy is the one to fetch it.
func (f *DiskFrontier) getRobots(_ context.Context, host string) (robotsRecord, bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return robotsRecord{}, false, false, err
	}
	v, ok, err := f.get(robotsKey(host))
	if err != nil || !ok {
		return robotsRecord{}, false, true, err
	}
	rec, err := decodeRobots(string(v))
	if err != nil || time.Since(rec.fetched) >= robotsTTL || rec.fetched.After(time.Now()) {
		return robotsRecord{}, false, true, nil
	}
	return rec, true, false, nil
}

// putRobots implements robotsStore: written unsynced, with the next group
// commit.
func (f *DiskFrontier) putRobots(_ context.Context, host string, rec robotsRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	b := f.db.NewBatch()
	_ = b.Set(robotsKey(host), encodeRobots(rec), nil)
	return f.apply(b, false)
}
