package crawler_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/frontiertest"
	"github.com/sluicehq/sluice/internal/redistest"
)

var crawlSeq atomic.Int64

// openRedis returns a RedisFrontier on a new crawl name of client's
// server, closed when t ends.
func openRedis(t *testing.T, client redis.UniversalClient, opts crawler.RedisOptions) *crawler.RedisFrontier {
	t.Helper()
	name := fmt.Sprintf("t%d", crawlSeq.Add(1))
	return openRedisCrawl(t, client, name, opts)
}

func openRedisCrawl(t *testing.T, client redis.UniversalClient, name string, opts crawler.RedisOptions) *crawler.RedisFrontier {
	t.Helper()
	f, err := crawler.NewRedisFrontier(client, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func TestRedisFrontierConformance(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	tests := []struct {
		name string
		opts crawler.RedisOptions
	}{
		{"default buckets", crawler.RedisOptions{}},
		{"one bucket", crawler.RedisOptions{SeenBuckets: 1}},
		{"no batching", crawler.RedisOptions{PopBatch: 1}},
		{"max buckets", crawler.RedisOptions{SeenBuckets: 1 << 24, LeaseTTL: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frontiertest.Run(t, func(t *testing.T) crawler.Frontier { return openRedis(t, client, tt.opts) })
		})
	}
}
