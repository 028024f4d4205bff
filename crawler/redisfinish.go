// This file holds the RedisFrontier's finishes in the background: a Finish
// of a lease this process holds, or a page's finish with the admission of
// its links, returns at once, and one goroutine sends the finishes
// waiting as one script call (one a MaxPages), in one round trip.

package crawler

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// finishOp is a finish waiting to be sent.
type finishOp struct {
	e     Entry // the page, with its lease
	state State
	o     pageOpts
	links *linkSet                      // links admitted with the finish
	done  func(codes []int8, err error) // nil: no answer wanted
}

// finishAnswer is the answer to one finishOp: whether the lease was
// current, and the admission codes of the links sent.
type finishAnswer struct {
	ok    bool
	codes []int64
	err   error
}

// finishPage finishes e, a page whose links are links, and admits them
// under the options o, in one step; it answers done (from another
// goroutine, or before it returns) with the links' admission codes. A
// lease this frontier holds is finished in the background with others, in
// one round trip; the scheduler does not wait on Redis for each page.
func (f *RedisFrontier) finishPage(ctx context.Context, e Entry, s State, links []Entry, o pageOpts, done func([]int8, error)) {
	op := finishOp{e: e, state: s, o: o, links: f.offer(links), done: done}
	answered, mine := f.claim(e.Lease)
	switch {
	case mine:
		f.finishLater(op)
	case answered: // finished before: the links still count
		done(f.admitCapped(ctx, links, o.maxPages))
	default:
		_, codes, err := f.finishNow(ctx, op)
		done(codes, err)
	}
}

// finishLater queues a finish for the finisher. It ends the linger when
// finishBatch are queued, or when no URL this frontier handed out is left
// unanswered: every slot of the crawl then waits for these finishes, and
// nothing would be fetched meanwhile. One process crawling a 5,000-page
// site of bench/crawl's server at -c 8 through a Redis on loopback took
// 2.03 and 2.06 s (1.01 and 1.07 s of CPU) when the linger always ran,
// 1.03 and 0.98 s with this; at -c 50, 0.69-0.77 s either way.
func (f *RedisFrontier) finishLater(op finishOp) {
	f.mu.Lock()
	f.fin = append(f.fin, op)
	full := len(f.fin) == finishBatch
	idle := len(f.held) == f.nbuf // the leases held are those buffered, not handed out
	f.mu.Unlock()
	f.kick()
	if full || idle {
		f.hurry()
	}
}

// hurry ends the finisher's linger.
func (f *RedisFrontier) hurry() {
	select {
	case f.finUrgent <- struct{}{}:
	default:
	}
}

func (f *RedisFrontier) kick() {
	select {
	case f.finKick <- struct{}{}:
	default:
	}
}

// finishLinger is how long the finisher lets finishes gather before it
// sends them, unless finishBatch are waiting or someone waits for them
// (settle): on the three-process benchmark (bench/crawl/redis.sh scale) it
// took the round trips to Redis from 0.79 a page to 0.33-0.38.
const (
	finishLinger = 2 * time.Millisecond
	finishBatch  = 32
)

// finisher sends the queued finishes until ctx ends, then the last ones.
func (f *RedisFrontier) finisher(ctx context.Context) {
	linger := time.NewTimer(time.Hour)
	defer linger.Stop()
	for {
		select {
		case <-f.finKick:
			f.linger(ctx, linger)
			f.flushFinishes(ctx)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), f.ttl)
			f.flushFinishes(fctx)
			cancel()
			return
		}
	}
}

// linger waits f.lingerFor for more finishes, unless finishBatch are queued,
// no URL handed out is left unanswered, settle waits or ctx ends.
func (f *RedisFrontier) linger(ctx context.Context, t *time.Timer) {
	f.mu.Lock()
	n := len(f.fin)
	f.mu.Unlock()
	if n >= finishBatch || f.urgent.Load() {
		return
	}
	t.Reset(f.lingerFor)
	select {
	case <-t.C:
	case <-f.finUrgent:
		t.Stop()
	case <-ctx.Done():
		t.Stop()
	}
}

// flushFinishes sends the finishes queued, in one round trip. A finish
// sent twice (a reply lost, a script reloaded after a restart) finds its
// lease gone the second time and changes nothing; its links are found
// seen.
func (f *RedisFrontier) flushFinishes(ctx context.Context) {
	f.mu.Lock()
	ops := f.fin
	f.fin = nil
	f.finBusy = len(ops) > 0
	f.mu.Unlock()
	var res []finishAnswer
	var err error
	if len(ops) > 0 {
		res, err = f.sendFinishes(ctx, ops)
		if err != nil {
			f.log.Warn("crawler: redis finish", "urls", len(ops), "err", err)
		}
	}
	f.mu.Lock()
	for _, op := range ops {
		delete(f.finishing, op.e.Lease)
	}
	f.finBusy = false
	f.finDone.Broadcast()
	f.mu.Unlock()
	for i, op := range ops {
		switch {
		case op.done == nil:
		case err != nil:
			op.done(nil, err)
		case res[i].err != nil:
			op.done(nil, res[i].err)
		default:
			op.done(f.answer(op.links, res[i].codes))
		}
	}
}

// sendFinishes sends ops, one script call for each run of ops under the
// same MaxPages, pipelined, retrying while Redis is unreachable, and
// returns the answer to each.
func (f *RedisFrontier) sendFinishes(ctx context.Context, ops []finishOp) ([]finishAnswer, error) {
	keys := []string{f.key("n"), f.key("r"), f.key("t"), f.key("h")}
	var calls [][]any
	var runs []int // ops in each call
	must := f.must()
	for lo := 0; lo < len(ops); {
		hi := lo + 1
		for hi < len(ops) && ops[hi].o.maxPages == ops[lo].o.maxPages {
			hi++
		}
		args := []any{f.prefix, f.mask, ops[lo].o.maxPages, must, hi - lo}
		for i := lo; i < hi; i++ {
			args = f.appendFinish(args, &ops[i])
		}
		calls, runs = append(calls, args), append(runs, hi-lo)
		lo = hi
	}
	cmds := make([]*redis.Cmd, len(calls))
	send := func(ctx context.Context) error {
		_, err := f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, args := range calls {
				cmds[i] = finishScript.EvalSha(ctx, p, keys, args...)
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
	if redis.HasErrorPrefix(err, "GONE") {
		return nil, f.errGone("finish")
	}
	if err != nil {
		return nil, fmt.Errorf("crawler: redis finish: %w", err)
	}
	f.known.Store(true)
	out := make([]finishAnswer, 0, len(ops))
	for i, cmd := range cmds {
		out = splitFinishes(out, ops[len(out):len(out)+runs[i]], cmd)
	}
	return out, nil
}

// splitFinishes appends the answers to ops of one script call, cmd: per
// op, ok, then the codes of its links sent.
func splitFinishes(out []finishAnswer, ops []finishOp, cmd *redis.Cmd) []finishAnswer {
	res, err := cmd.Int64Slice()
	if err == nil {
		n := 0
		for _, op := range ops {
			n += 1 + len(op.links.send)
		}
		if n != len(res) {
			err = fmt.Errorf("%d answers for %d finishes", len(res), len(ops))
		}
	}
	for _, op := range ops {
		if err != nil {
			out = append(out, finishAnswer{err: fmt.Errorf("crawler: redis finish: %w", err)})
			continue
		}
		k := 1 + len(op.links.send)
		out = append(out, finishAnswer{ok: res[0] == 1, codes: res[1:k]})
		res = res[k:]
	}
	return out
}

// settle waits until the finishes queued so far have been sent.
func (f *RedisFrontier) settle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urgent.Store(true)
	defer f.urgent.Store(false)
	for (len(f.fin) > 0 || f.finBusy) && !f.closed {
		f.kick()
		f.hurry()
		f.finDone.Wait()
	}
}
