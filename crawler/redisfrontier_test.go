package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// TestRedisFrontierRefusesOtherBuckets checks that a process opening a
// crawl with another seen-set size is refused, not allowed to admit URLs
// the crawl has seen under other buckets.
func TestRedisFrontierRefusesOtherBuckets(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	a := openRedisCrawl(t, client, "sized", crawler.RedisOptions{Worker: "a", ExpectedURLs: 1000})
	b := openRedisCrawl(t, client, "sized", crawler.RedisOptions{Worker: "b", ExpectedURLs: 10_000_000})
	ctx := context.Background()
	if _, err := a.Admit(ctx, []crawler.Entry{{URL: "http://a.example/1"}}); err != nil {
		t.Fatal(err)
	}
	_, err := b.Admit(ctx, []crawler.Entry{{URL: "http://a.example/1"}})
	if err == nil || !strings.Contains(err.Error(), "same SeenBuckets") {
		t.Errorf("admission with other buckets: %v, want a refusal", err)
	}
	if err := b.CheckBuckets(ctx); !errors.Is(err, crawler.ErrOtherBuckets) || !strings.Contains(err.Error(), "1024 there, 262144 here") {
		t.Errorf("CheckBuckets with other buckets: %v, want ErrOtherBuckets naming both", err)
	}
	c := openRedisCrawl(t, client, "sized", crawler.RedisOptions{Worker: "c", SeenBuckets: 1024})
	if err := c.CheckBuckets(ctx); err != nil {
		t.Errorf("CheckBuckets with the same buckets: %v", err)
	}
	if added, err := c.Admit(ctx, []crawler.Entry{{URL: "http://a.example/1"}}); err != nil || added[0] {
		t.Errorf("admission with the same buckets: %v, %v; want seen", added, err)
	}
}
