// Command redismem measures the Redis memory a crawler.RedisFrontier takes
// per URL: it admits N URLs (in batches of 50, as a page's links) over H
// hosts into a Redis with nothing else in it, reads used_memory from INFO
// memory, then pops and finishes them all and reads it again, so the two
// figures are the cost of a pending URL and of a URL seen and done.
//
//	redismem -redis redis://127.0.0.1:6379/0 -n 1000000 -hosts 1000
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

func usedMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}

func run() error {
	addr := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	n := flag.Int("n", 1000000, "URLs to admit")
	hosts := flag.Int("hosts", 1000, "hosts the URLs spread over")
	buckets := flag.Int("buckets", 0, "RedisOptions.SeenBuckets (0: the default)")
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
	f, err := crawler.NewRedisFrontier(c, "mem", crawler.RedisOptions{SeenBuckets: *buckets})
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
	hostList, err := f.Hosts(ctx, *hosts)
	if err != nil {
		return err
	}
	if err := drain(ctx, f, hostList); err != nil {
		return err
	}
	done, err := usedMemory(ctx, c)
	if err != nil {
		return err
	}
	p, inFlight, err := f.Counts(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("all done (pending %d, in flight %d): used_memory %d B (+%d B), %.1f B per URL seen\n",
		p, inFlight, done, done-base, float64(done-base)/float64(*n))
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
