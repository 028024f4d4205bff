// Command redismem measures the Redis memory a crawler.RedisFrontier takes
// per URL: it admits N URLs (in batches of 50, as a page's links) over H
// hosts into a Redis with nothing else in it, reads used_memory less the
// connections' buffers from INFO memory, shows where the bytes are (MEMORY
// USAGE of every key of the crawl), then pops and finishes them all and reads it again, so the two
// figures are the cost of a pending URL and of a URL seen and done.
//
//	redismem -redis redis://127.0.0.1:6379/0 -n 1000000 -hosts 1000 -expected 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/crawler"
	"golang.org/x/sync/errgroup"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "redismem:", err)
		os.Exit(1)
	}
}

// usedMemory returns used_memory less mem_clients_normal from INFO memory:
// the connections' buffers (pipelined commands and replies in transit)
// are the clients' traffic, not the crawl's state, and at the end of a
// drain by 32 goroutines they held about 7 MB.
func usedMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	var used, clients int64 = -1, 0
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			used, err = strconv.ParseInt(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "mem_clients_normal:"); ok {
			clients, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return 0, err
		}
	}
	if used < 0 {
		return 0, fmt.Errorf("no used_memory in INFO memory")
	}
	return used - clients, nil
}

func run() error {
	addr := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	n := flag.Int("n", 1000000, "URLs to admit")
	hosts := flag.Int("hosts", 1000, "hosts the URLs spread over")
	buckets := flag.Int("buckets", 0, "RedisOptions.SeenBuckets (0: the one for -expected)")
	expected := flag.Int("expected", 0, "RedisOptions.ExpectedURLs (0: the default, 4,000,000)")
	flag.Parse()
	ctx := context.Background()
	opt, err := redis.ParseURL(*addr)
	if err != nil {
		return err
	}
	opt.PoolSize = 40
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushDB(ctx).Err(); err != nil {
		return err
	}
	base, err := usedMemory(ctx, c)
	if err != nil {
		return err
	}
	f, err := crawler.NewRedisFrontier(c, "mem", crawler.RedisOptions{SeenBuckets: *buckets, ExpectedURLs: *expected})
	if err != nil {
		return err
	}
	defer f.Close()
	if err := admitAll(ctx, f, *n, *hosts); err != nil {
		return err
	}
	pending, err := usedMemory(ctx, c)
	if err != nil {
		return err
	}
	fmt.Printf("admitted %d URLs over %d hosts: used_memory %d B (+%d B), %.1f B per pending URL\n",
		*n, *hosts, pending, pending-base, float64(pending-base)/float64(*n))
	if err := breakdown(ctx, c, *n); err != nil {
		return err
	}
	hostList, err := f.Hosts(ctx, *hosts)
	if err != nil {
		return err
	}
	if err := drain(ctx, f, hostList); err != nil {
		return err
	}
	// Counts waits for the finishes sent in the background.
	p, inFlight, err := f.Counts(ctx)
	if err != nil {
		return err
	}
	done, err := usedMemory(ctx, c)
	if err != nil {
		return err
	}
	fmt.Printf("all done (pending %d, in flight %d): used_memory %d B (+%d B), %.1f B per URL seen\n",
		p, inFlight, done, done-base, float64(done-base)/float64(*n))
	return breakdown(ctx, c, *n)
}

// breakdown prints where the bytes go, by MEMORY USAGE of the crawl's
// keys (found by SCAN, which the frontier never uses): the seen-set
// buckets, the host queues and the rest, per URL, with each kind's key
// count and encoding.
func breakdown(ctx context.Context, c *redis.Client, n int) error {
	type kind struct {
		keys  int
		bytes int64
		enc   map[string]int
	}
	kinds := map[string]*kind{}
	iter := c.Scan(ctx, 0, "sluice:{mem}:*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		name := strings.TrimPrefix(key, "sluice:{mem}:")
		switch {
		case strings.HasPrefix(name, "q:"):
			name = "queues (q:HOST)"
		case strings.HasPrefix(name, "o:"):
			name = "leases (o:WORKER)"
		case strings.HasPrefix(name, "s") && len(name) == 4:
			name = "seen-set buckets (s+3 bytes)"
		}
		k := kinds[name]
		if k == nil {
			k = &kind{enc: map[string]int{}}
			kinds[name] = k
		}
		b, err := c.MemoryUsage(ctx, key, 0).Result()
		if err != nil {
			return err
		}
		enc, err := c.ObjectEncoding(ctx, key).Result()
		if err != nil {
			return err
		}
		k.keys++
		k.bytes += b
		k.enc[enc]++
	}
	if err := iter.Err(); err != nil {
		return err
	}
	for name, k := range kinds {
		fmt.Printf("  %-30s %7d keys %12d B %7.1f B per URL  %v\n", name, k.keys, k.bytes, float64(k.bytes)/float64(n), k.enc)
	}
	return nil
}

// admitAll admits n URLs spread over hosts, in batches of 50 as a page's
// links would come.
func admitAll(ctx context.Context, f *crawler.RedisFrontier, n, hosts int) error {
	batch := make([]crawler.Entry, 0, 50)
	for i := range n {
		h := i % hosts
		batch = append(batch, crawler.Entry{
			URL:    fmt.Sprintf("https://www.site%d.example/articles/2026/11/%d/page-%d.html", h, i%97, i),
			Parent: fmt.Sprintf("https://www.site%d.example/articles/2026/11/index-%d.html", h, i/50),
			Depth:  3,
		})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := f.Admit(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// drain pops and finishes every URL, 32 drainers, a host each at a time.
func drain(ctx context.Context, f *crawler.RedisFrontier, hostList []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for _, h := range hostList {
		g.Go(func() error {
			for {
				e, ok, err := f.Pop(gctx, h)
				if err != nil || !ok {
					return err
				}
				if err := f.Finish(gctx, e, crawler.Done); err != nil {
					return err
				}
			}
		})
	}
	return g.Wait()
}
