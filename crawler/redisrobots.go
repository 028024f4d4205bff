// This file holds the robots.txt files a RedisFrontier keeps for all the
// processes of its crawl (sharedrobots.go), so that each host's robots.txt
// is fetched once by one of them.

package crawler

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// robotsScript: KEYS robots:HOST, rlock:HOST; ARGV worker, claim ms.
// Returns {1, copy} when a copy is kept, {2} when the caller now holds the
// claim to fetch it, {0} when another process does.
var robotsScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`)

// getRobots implements robotsStore.
func (f *RedisFrontier) getRobots(ctx context.Context, host string) (robotsRecord, bool, bool, error) {
	keys := []string{f.key("robots:" + host), f.key("rlock:" + host)}
	var res []any
	err := f.do(ctx, func(ctx context.Context) (err error) {
		res, err = robotsScript.Run(ctx, f.rdb, keys, f.worker, robotsClaim.Milliseconds()).Slice()
		return err
	})
	if err != nil {
		return robotsRecord{}, false, false, fmt.Errorf("crawler: redis robots.txt: %w", err)
	}
	kind, _ := res[0].(int64)
	switch {
	case kind == 2:
		return robotsRecord{}, false, true, nil
	case kind != 1 || len(res) != 2:
		return robotsRecord{}, false, false, nil
	}
	v, _ := res[1].(string)
	rec, err := decodeRobots(v)
	if err != nil {
		// Fetch it again, and keep that copy instead.
		return robotsRecord{}, false, true, nil
	}
	return rec, true, false, nil
}

// putRobots implements robotsStore.
func (f *RedisFrontier) putRobots(ctx context.Context, host string, rec robotsRecord) error {
	ttl := robotsTTL - time.Since(rec.fetched)
	if ttl <= 0 {
		return nil
	}
	v := encodeRobots(rec)
	err := f.do(ctx, func(ctx context.Context) error {
		_, err := f.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, f.key("robots:"+host), v, ttl)
			p.Del(ctx, f.key("rlock:"+host))
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("crawler: redis robots.txt: %w", err)
	}
	return nil
}
