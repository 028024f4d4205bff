// This file holds sluice crawl --redis: the crawl shared through Redis.

package main

import (
	"context"
	"fmt"

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
	key := "sluice:{" + o.crawl + "}:seeds"
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
	o.c.Frontier = f
	return all, func() {
		if err := f.Close(); err != nil {
			o.c.Logger.Warn(err.Error())
		}
		client.Close()
	}, nil
}
