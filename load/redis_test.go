package load

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/internal/redistest"
)

// startRedis starts a private redis-server (redistest.Start) and returns
// its address. The test is skipped if redis-server is not installed.
func startRedis(t *testing.T) string {
	t.Helper()
	return redistest.Start(t).Addr
}

// newRedis returns a client of addr closed when the test ends.
func newRedis(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// waitKey waits until key exists: a worker has got as far as setting it.
// A fixed sleep in its place let a worker slowed by a loaded machine
// arrive second.
func waitKey(t *testing.T, rdb *redis.Client, key string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if n, err := rdb.Exists(context.Background(), key).Result(); err == nil && n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not set within 10s", key)
		}
	}
}

func redisClient(addr string) *redis.Client { return redis.NewClient(&redis.Options{Addr: addr}) }
