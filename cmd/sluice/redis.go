// This file holds the flags that put sluice crawl and sluice fetch on
// Redis, shared by many processes, and the client they open.

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"
)

// quietRedis drops go-redis's own log lines (a refused dial on every
// attempt); sluice says once that Redis is unreachable, and when it is back.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedis{}) }

// redisFlags are --redis and --worker.
type redisFlags struct {
	url    string
	worker string
}

func (r *redisFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&r.url, "redis", "", "share the work with other processes through this Redis (redis://HOST:PORT/DB)")
	fs.StringVar(&r.worker, "worker", "", `name of this process in records and leases (default "HOSTNAME:PID")`)
}

// on reports whether --redis was given.
func (r *redisFlags) on() bool { return r.url != "" }

// name returns the worker name: --worker, or HOSTNAME:PID.
func (r *redisFlags) name() string {
	if r.worker != "" {
		return r.worker
	}
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

// client opens the Redis of --redis and checks that it answers.
func (r *redisFlags) client(ctx context.Context, cmd string) (*redis.Client, error) {
	opt, err := redis.ParseURL(r.url)
	if err != nil {
		return nil, usageErrorf("%s: --redis: %v", cmd, err)
	}
	if cmd == "crawl" || cmd == "fetch" {
		// The frontier and the queue worker retry with backoff themselves
		// and say so on stderr; the client's own retries would bridge an
		// outage of up to about 3 s without a word. The one-shot queue
		// commands keep them.
		opt.MaxRetries = -1
	}
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: redis %s: %w", cmd, opt.Addr, err)
	}
	return c, nil
}
