// This file holds sluice crawl --redis: the crawl shared through Redis.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/crawler"
)

// shareCrawl puts the crawl on the RedisFrontier of --crawl: it adds seeds
// to the crawl's seeds kept in Redis and returns them all, so that every
// process follows links in one scope whichever was given the seeds. close
// closes the frontier (putting back any URL still leased) and the client.
func shareCrawl(ctx context.Context, o *crawlOptions, seeds []string) (all []string, close func(), err error) {
	client, err := o.redis.client(ctx, "crawl")
	if err != nil {
		return nil, nil, err
	}
	key := sharedKey(o.crawl, "seeds")
	if len(seeds) == 0 {
		if err := begun(ctx, client, o.crawl, key); err != nil {
			client.Close()
			return nil, nil, err
		}
	}
	if err := sameSettings(ctx, client, o); err != nil {
		client.Close()
		return nil, nil, err
	}
	if len(seeds) > 0 {
		args := make([]any, len(seeds))
		for i, s := range seeds {
			args[i] = s
		}
		if err := client.SAdd(ctx, key, args...).Err(); err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("crawl: redis: %w", err)
		}
	}
	if all, err = client.SMembers(ctx, key).Result(); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("crawl: redis: %w", err)
	}
	f, err := crawler.NewRedisFrontier(client, o.crawl, crawler.RedisOptions{
		Worker: o.redis.name(), LeaseTTL: o.lease, ExpectedURLs: o.expect, Logger: o.c.Logger,
	})
	if err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("crawl: %w", err)
	}
	if err := f.CheckBuckets(ctx); err != nil {
		f.Close()
		client.Close()
		if errors.Is(err, crawler.ErrOtherBuckets) {
			return nil, nil, usageErrorf("crawl: crawl %q in Redis was started with another --expected-urls (%v): give every process the same", o.crawl, err)
		}
		return nil, nil, fmt.Errorf("crawl: %w", err)
	}
	o.c.Frontier = f
	return all, func() {
		if err := f.Close(); err != nil {
			o.c.Logger.Warn(err.Error())
		}
		client.Close()
	}, nil
}

// begun refuses a process without seeds that joins a crawl no process has
// given seeds to: a mistyped --crawl, or the seeding process not started
// yet. It ended at once, having crawled nothing, with exit status 0, and
// left its flags in Redis as the crawl's.
func begun(ctx context.Context, client *redis.Client, crawl, key string) error {
	n, err := client.SCard(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("crawl: redis: %w", err)
	}
	if n == 0 {
		return usageErrorf("crawl: crawl %q has no seeds in Redis: give seed URLs to start it, or the name of a crawl already started", crawl)
	}
	return nil
}

// sameSettings keeps in Redis the scope flags of the first process of the
// crawl (those a state dir keeps, but the seeds, which every process adds
// to, and -o, which is each process's own), and refuses a process whose
// flags differ, naming each difference, unless --accept-changes makes its
// flags the crawl's. Processes with another --depth, --max-pages or scope
// would each take in what the others leave out, and another --sort-query
// or --strip-tracking gives a URL another canonical form, so another key
// in the shared seen-set: a page fetched twice.
func sameSettings(ctx context.Context, client *redis.Client, o *crawlOptions) error {
	now := o.config(nil, "").asStored()
	b, err := json.Marshal(now)
	if err != nil {
		return fmt.Errorf("crawl: %w", err)
	}
	key := sharedKey(o.crawl, "settings")
	if o.state.accept {
		if err := client.Set(ctx, key, b, 0).Err(); err != nil {
			return fmt.Errorf("crawl: redis: %w", err)
		}
		return nil
	}
	set, err := client.SetNX(ctx, key, b, 0).Result()
	if err != nil {
		return fmt.Errorf("crawl: redis: %w", err)
	}
	if set {
		return nil // the first process: its flags are the crawl's
	}
	stored, err := client.Get(ctx, key).Bytes()
	if err != nil {
		return fmt.Errorf("crawl: redis: %w", err)
	}
	var was crawlConfig
	if err := json.Unmarshal(stored, &was); err != nil {
		return fmt.Errorf("crawl: redis: the settings of crawl %q do not read: %w", o.crawl, err)
	}
	if d := was.diff(now); len(d) > 0 {
		return usageErrorf("crawl: crawl %q in Redis was started with other flags: %s; give the same flags to share it, or pass --accept-changes",
			o.crawl, strings.Join(d, ", "))
	}
	return nil
}

// sharedKey returns the Redis key of name for the shared crawl: under the
// prefix of the crawl's RedisFrontier keys, "sluice:{CRAWL}:".
func sharedKey(crawl, name string) string { return "sluice:{" + crawl + "}:" + name }
