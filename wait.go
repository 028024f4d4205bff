// This file holds the functions that collect the results of many futures.

package sluice

import (
	"context"
	"iter"
	"slices"
)

// WaitMode says when [Wait] returns. The zero value is AllCompleted, the
// default of Python's wait.
type WaitMode int

// The modes of Wait, as in Python's concurrent.futures.wait.
const (
	// AllCompleted: return when every future is done.
	AllCompleted WaitMode = iota
	// FirstCompleted: return when any future is done.
	FirstCompleted
	// FirstError: return when any future is done with an error, or when
	// every future is done. A future cancelled before it started
	// ([FutureCancelled]) is done but has not failed: as with Python's
	// FIRST_EXCEPTION, Wait does not return for it.
	FirstError
)

// completions registers for the completion of every future in fs and returns
// a channel on which each future's index arrives once, in completion order,
// and stop, which takes back the registrations of the futures not done yet:
// the caller defers it. The channel has room for all of them, so no
// completing goroutine blocks.
func completions[T any](fs []*Future[T]) (ch <-chan int, stop func()) {
	c := make(chan int, len(fs))
	places := make([]int, len(fs))
	for i, f := range fs {
		places[i] = f.onDone(func() { c <- i })
	}
	return c, func() {
		for i, f := range fs {
			f.removeCallback(places[i])
		}
	}
}

// next returns the index of the next future to complete, taking one that
// has completed already before looking at ctx, so that a ctx that has
// ended (Python's timeout=0) still sees every future done by then; ok is
// false when ctx ended first.
func next(ctx context.Context, ch <-chan int) (i int, ok bool) {
	select {
	case i := <-ch:
		return i, true
	default:
	}
	select {
	case i := <-ch:
		return i, true
	case <-ctx.Done():
		return 0, false
	}
}

// distinct returns fs without its repeats, in the order of their first
// appearance; fs itself when it has none.
func distinct[T any](fs []*Future[T]) []*Future[T] {
	seen := make(map[*Future[T]]struct{}, len(fs))
	for i, f := range fs {
		if _, dup := seen[f]; !dup {
			seen[f] = struct{}{}
			continue
		}
		out := slices.Clone(fs[:i])
		for _, f := range fs[i+1:] {
			if _, dup := seen[f]; !dup {
				seen[f] = struct{}{}
				out = append(out, f)
			}
		}
		return out
	}
	return fs
}

// failed reports whether f, which is done, failed for FirstError: it has
// an error and was not cancelled before it started.
func failed[T any](f *Future[T]) bool {
	return f.err != nil && f.State() != FutureCancelled
}

// Wait waits for the futures in fs as mode says and returns them split into
// those done (in completion order) and those still pending (in the order of
// fs). A future given more than once is in one of them once, as in
// Python's wait, whose results are sets. A cancelled future counts as done.
// When ctx ends first, Wait returns ctx's error with the sets as they stood:
// the futures done by then are in done, so a ctx that has ended already
// sorts fs without waiting, as Python's wait with timeout=0 does.
// Nil futures are not allowed.
func Wait[T any](ctx context.Context, fs []*Future[T], mode WaitMode) (done, pending []*Future[T], err error) {
	fs = distinct(fs)
	ch, stop := completions(fs)
	defer stop()
	isDone := make([]bool, len(fs))
	split := func() {
		for i, f := range fs {
			if !isDone[i] {
				pending = append(pending, f)
			}
		}
	}
	for len(done) < len(fs) {
		i, ok := next(ctx, ch)
		if !ok {
			split()
			return done, pending, ctx.Err()
		}
		isDone[i] = true
		done = append(done, fs[i])
		if mode == FirstCompleted || mode == FirstError && failed(fs[i]) {
			// Take any others that finished at the same moment.
			for {
				select {
				case i := <-ch:
					isDone[i] = true
					done = append(done, fs[i])
					continue
				default:
				}
				break
			}
			split()
			return done, pending, nil
		}
	}
	return done, nil, nil
}

// AsCompleted yields the futures in fs as they complete, each once (a
// future given more than once too, as in Python), in completion order, like
// Python's as_completed. When ctx ends it yields the futures done by then
// and stops; check ctx.Err() after the loop to tell that from completion.
// Nil futures are not allowed.
func AsCompleted[T any](ctx context.Context, fs []*Future[T]) iter.Seq[*Future[T]] {
	return func(yield func(*Future[T]) bool) {
		fs := distinct(fs)
		ch, stop := completions(fs)
		defer stop()
		for range fs {
			i, ok := next(ctx, ch)
			if !ok || !yield(fs[i]) {
				return
			}
		}
	}
}

// Gather waits for every future in fs and returns their results in the order
// of fs. It returns early with the first error to occur (in time; among the
// futures done already when it is called, the first in fs), as
// asyncio.gather does without return_exceptions, or with ctx's error when
// ctx ends before every future is done; the slice then holds the results of
// the futures that had succeeded by then and zero values elsewhere. The
// futures it did not wait for go on. For every error, as with
// return_exceptions=True, call [Future.Result] on each future instead.
func Gather[T any](ctx context.Context, fs []*Future[T]) ([]T, error) {
	out := make([]T, len(fs))
	ch, stop := completions(fs)
	defer stop()
	for range fs {
		i, ok := next(ctx, ch)
		if !ok {
			return out, ctx.Err()
		}
		if fs[i].err != nil {
			return out, fs[i].err
		}
		out[i] = fs[i].val
	}
	return out, nil
}

// Map runs fn on p for each value of in and yields the results in input
// order, like Python's Executor.map. It is lazy: it reads in only as fast as
// results are consumed, holding at most p.Workers()+p.QueueSize() tasks
// submitted but not yet yielded, so a slow consumer bounds memory.
//
// Each result is yielded with its task's error; the caller decides whether
// to go on. If the caller stops early, or ctx ends, the tasks not yet
// yielded are cancelled; when ctx ends, Map yields ctx's error once as its
// last value. If p is closed, the remaining values yield [ErrPoolClosed].
func Map[In, Out any](ctx context.Context, p *Pool[Out], in iter.Seq[In], fn func(context.Context, In) (Out, error)) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		window := make([]*Future[Out], 0, p.Workers()+p.QueueSize())
		head := 0 // window[head:] are submitted and not yet yielded
		defer func() {
			for _, f := range window[head:] {
				f.Cancel()
			}
		}()
		var zero Out
		// next yields the oldest result; false means stop.
		next := func() bool {
			f := window[head]
			head++
			v, err := f.Wait(ctx)
			if ctx.Err() != nil && f.State() < FutureDone {
				f.Cancel()
				yield(zero, ctx.Err())
				return false
			}
			return yield(v, err)
		}
		for v := range in {
			if len(window)-head == cap(window) {
				if !next() {
					return
				}
			}
			if head > 0 && len(window) == cap(window) {
				n := copy(window, window[head:])
				clear(window[n:])
				window, head = window[:n], 0
			}
			f, err := p.SubmitCtx(ctx, func(c context.Context) (Out, error) { return fn(c, v) })
			if err == ErrPoolClosed {
				f = failedFuture[Out](err)
			} else if err != nil {
				yield(zero, err)
				return
			}
			window = append(window, f)
		}
		for head < len(window) {
			if !next() {
				return
			}
		}
	}
}
