// This file holds the RedisFrontier's finishes in the background: a Finish
// of a lease this process holds returns at once, and one goroutine sends
// the finishes waiting, pipelined, in one round trip.

package crawler

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// finishOp is a finish script call waiting to be sent.
type finishOp struct {
	lease uint64
	keys  []string
	args  []any
}

// finishLater queues a finish for the finisher.
func (f *RedisFrontier) finishLater(op finishOp) {
	f.mu.Lock()
	f.fin = append(f.fin, op)
	f.mu.Unlock()
	f.kick()
}

func (f *RedisFrontier) kick() {
	select {
	case f.finKick <- struct{}{}:
	default:
	}
}

// finisher sends the queued finishes until ctx ends, then the last ones.
func (f *RedisFrontier) finisher(ctx context.Context) {
	for {
		select {
		case <-f.finKick:
			f.flushFinishes(ctx)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), f.ttl)
			f.flushFinishes(fctx)
			cancel()
			return
		}
	}
}

// flushFinishes sends the finishes queued, pipelined. A finish sent twice
// (a reply lost, a script reloaded after a restart) finds its lease gone
// the second time and changes nothing.
func (f *RedisFrontier) flushFinishes(ctx context.Context) {
	f.mu.Lock()
	ops := f.fin
	f.fin = nil
	f.finBusy = len(ops) > 0
	f.mu.Unlock()
	if len(ops) > 0 {
		send := func(ctx context.Context) error {
			_, err := f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, op := range ops {
					finishScript.EvalSha(ctx, p, op.keys, op.args...)
				}
				return nil
			})
			return err
		}
		err := f.do(ctx, func(ctx context.Context) error {
			err := send(ctx)
			if redis.HasErrorPrefix(err, "NOSCRIPT") { // Redis restarted
				if err = finishScript.Load(ctx, f.rdb).Err(); err == nil {
					err = send(ctx)
				}
			}
			return err
		})
		if err != nil {
			f.log.Warn("crawler: redis finish", "urls", len(ops), "err", err)
		}
	}
	f.mu.Lock()
	for _, op := range ops {
		delete(f.finishing, op.lease)
	}
	f.finBusy = false
	f.finDone.Broadcast()
	f.mu.Unlock()
}

// settle waits until the finishes queued so far have been sent.
func (f *RedisFrontier) settle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for (len(f.fin) > 0 || f.finBusy) && !f.closed {
		f.kick()
		f.finDone.Wait()
	}
}
