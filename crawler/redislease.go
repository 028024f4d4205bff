// This file holds the RedisFrontier's leases over time: the heartbeat that
// renews this process's leases and reaps those of dead processes, the
// reconcile after a lost reply, Close, and the retries while Redis is
// unreachable.

package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// heartbeat renews the worker's leases and reaps dead workers' every
// LeaseTTL/3 until Close.
func (f *RedisFrontier) heartbeat(ctx context.Context) {
	t := time.NewTicker(f.ttl / 3)
	defer t.Stop()
	for {
		if n, err := f.Beat(ctx); err == nil && n > 0 {
			f.log.Warn("crawler: took back URLs of workers that stopped renewing their leases", "urls", n, "crawl", f.prefix)
		}
		// The client may have repeated a hand-out whose reply it lost,
		// unseen by the frontier: the lease of the first is in Redis only.
		f.lost.Store(true)
		f.reconcile(ctx)
		f.beats.Add(1)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// Beat renews all the leases of this frontier's worker until LeaseTTL from
// now, and puts back to pending the URLs of workers whose leases have
// expired; it returns how many. The heartbeat calls it every LeaseTTL/3;
// a caller may call it to reap at once.
func (f *RedisFrontier) Beat(ctx context.Context) (reaped int, err error) {
	keys := []string{f.key("w"), f.key("m")}
	args := []any{f.worker, f.ttl.Microseconds(), f.prefix, f.mask}
	var n int64
	err = f.do(ctx, func(ctx context.Context) (err error) {
		n, err = heartbeatScript.Run(ctx, f.rdb, keys, args...).Int64()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("crawler: redis heartbeat: %w", err)
	}
	return int(n), nil
}

// reconcile puts back the leases Redis holds for this worker that it does
// not know of: those granted by a Pop whose reply was lost. It runs after a
// Pop that failed for an unreachable Redis, and on every heartbeat.
func (f *RedisFrontier) reconcile(ctx context.Context) {
	f.gate.Lock()
	defer f.gate.Unlock()
	if !f.lost.Load() {
		return
	}
	f.mu.Lock()
	args := []any{f.worker, f.prefix, f.mask, 1}
	for l := range f.held {
		args = append(args, strconv.FormatUint(l, 10))
	}
	for l := range f.finishing { // held until the finish is sent
		args = append(args, strconv.FormatUint(l, 10))
	}
	f.mu.Unlock()
	var n int64
	err := f.do(ctx, func(ctx context.Context) (err error) {
		n, err = releaseScript.Run(ctx, f.rdb, []string{f.okey, f.key("w")}, args...).Int64()
		return err
	})
	if err == nil {
		f.lost.Store(false)
		if n > 0 {
			f.log.Info("crawler: put back URLs whose hand-out reply was lost", "urls", n)
		}
	}
}

// Close sends the finishes still queued, stops the heartbeat and puts back
// to pending the URLs still leased to this worker, so no other process waits
// LeaseTTL for them; answers for them after Close get ErrLeaseLost. It does
// not close the client. Close is safe to call more than once.
func (f *RedisFrontier) Close() error {
	var err error
	f.closeOnce.Do(func() {
		f.stop()
		f.wg.Wait() // the finisher has sent the last finishes
		f.mu.Lock()
		f.closed = true
		f.finDone.Broadcast()
		clear(f.buf) // leased to this worker: released below
		f.nbuf = 0
		f.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), f.ttl)
		defer cancel()
		err = f.do(ctx, func(ctx context.Context) error {
			args := []any{f.worker, f.prefix, f.mask, 0}
			return releaseScript.Run(ctx, f.rdb, []string{f.okey, f.key("w")}, args...).Err()
		})
		if err != nil {
			err = fmt.Errorf("crawler: redis close: %w", err)
		}
	})
	return err
}

// redisBackoff bounds the wait between two attempts while Redis is
// unreachable.
const (
	redisBackoffMin = 50 * time.Millisecond
	redisBackoffMax = 5 * time.Second
)

// do runs op until it succeeds, fails for a reason other than an
// unreachable Redis, or ctx ends; it tells the Logger when Redis goes away
// and when it comes back.
func (f *RedisFrontier) do(ctx context.Context, op func(context.Context) error) error {
	wait := redisBackoffMin
	for {
		err := op(ctx)
		if !transient(err) {
			if err == nil && f.down.CompareAndSwap(true, false) {
				f.log.Warn("crawler: redis is back; going on", "crawl", f.prefix)
			}
			return err
		}
		if f.down.CompareAndSwap(false, true) {
			f.log.Warn("crawler: redis unreachable; retrying with backoff", "crawl", f.prefix, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, redisBackoffMax)
	}
}

// transient reports whether err means Redis could not be reached or is not
// ready yet, so the call is worth repeating.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, redis.ErrPoolTimeout) || redis.IsLoadingError(err) || redis.IsTryAgainError(err) ||
		redis.IsClusterDownError(err) || redis.IsMasterDownError(err)
}
