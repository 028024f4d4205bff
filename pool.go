// This file holds Pool, the fixed-size executor behind every Future.

package sluice

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Pool runs submitted functions on a fixed set of worker goroutines and
// returns a [Future] for each, like Python's ThreadPoolExecutor. Tasks wait
// in a bounded queue; when it is full, [Pool.Submit] blocks, so a fast
// producer is held to the pace of the workers. No goroutine is started per
// task.
//
// A Pool must be made with [NewPool] and released with [Pool.Close] or
// [Pool.Shutdown]; the zero value has no workers and is not usable (its
// Submit waits for ever and its Close panics). Its methods are safe for
// concurrent use.
type Pool[T any] struct {
	queue   chan *Future[T]
	workers int

	// mu is held for reading while a submitter sends on queue, and for
	// writing only by stopIntake, to close it. A submitter that cannot
	// take it for reading finds intake stopping and fails at once, instead
	// of waiting behind stopIntake for a blocked submitter to get in.
	mu     sync.RWMutex
	closed bool

	wg      sync.WaitGroup              // running workers
	running []atomic.Pointer[Future[T]] // each worker's current task
	aborted atomic.Bool                 // set when Shutdown's ctx ends

	abortOnce sync.Once
	abortDone chan struct{}
}

// PoolOption configures a [Pool] made by [NewPool].
type PoolOption func(*poolConfig)

type poolConfig struct{ queueSize int }

// WithQueueSize sets how many submitted tasks may wait for a worker before
// Submit blocks. The default is the number of workers; 0 makes every Submit
// wait until a worker takes its task. A negative size is treated as 0.
func WithQueueSize(n int) PoolOption {
	return func(c *poolConfig) { c.queueSize = max(n, 0) }
}

// NewPool starts a pool of workers goroutines (at least one) and returns it.
func NewPool[T any](workers int, opts ...PoolOption) *Pool[T] {
	workers = max(workers, 1)
	cfg := poolConfig{queueSize: workers}
	for _, o := range opts {
		o(&cfg)
	}
	p := &Pool[T]{
		queue:     make(chan *Future[T], cfg.queueSize),
		workers:   workers,
		running:   make([]atomic.Pointer[Future[T]], workers),
		abortDone: make(chan struct{}),
	}
	p.wg.Add(workers)
	for i := range workers {
		go p.work(&p.running[i])
	}
	return p
}

// Workers returns the number of worker goroutines.
func (p *Pool[T]) Workers() int { return p.workers }

// QueueSize returns how many tasks may wait for a worker before Submit blocks.
func (p *Pool[T]) QueueSize() int { return cap(p.queue) }

func (p *Pool[T]) work(cur *atomic.Pointer[Future[T]]) {
	exited := false
	defer func() {
		if !exited {
			// A task called runtime.Goexit, which ends this goroutine
			// whatever it does; another takes its place.
			cur.Store(nil)
			p.wg.Add(1)
			go p.work(cur)
		}
		p.wg.Done()
	}()
	for f := range p.queue {
		// Publish the task before checking aborted; abort sets aborted
		// before scanning, so one of the two always sees the other.
		cur.Store(f)
		if p.aborted.Load() {
			f.Cancel()
		} else {
			f.run()
		}
		cur.Store(nil)
	}
	exited = true
}

// Submit queues fn to run on one of the pool's workers and returns its
// Future. Submit blocks while the queue is full. Once Close or Shutdown has
// begun it returns at once a Future that has already failed with
// [ErrPoolClosed], as Python's submit raises after shutdown.
// fn receives a context that is cancelled by [Future.Cancel] and by a
// Shutdown whose deadline passes.
// Submit is safe for concurrent use.
func (p *Pool[T]) Submit(fn func(ctx context.Context) (T, error)) *Future[T] {
	f := newFuture(fn)
	if !p.enter() {
		return failedFuture[T](ErrPoolClosed)
	}
	p.queue <- f
	p.mu.RUnlock()
	return f
}

// SubmitCtx is like [Pool.Submit] but waits for queue space only until ctx
// is done; it then returns ctx's error and no future. Once Close or
// Shutdown has begun it returns [ErrPoolClosed] at once. ctx bounds only
// the wait for space, not the task.
func (p *Pool[T]) SubmitCtx(ctx context.Context, fn func(ctx context.Context) (T, error)) (*Future[T], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f := newFuture(fn)
	if !p.enter() {
		return nil, ErrPoolClosed
	}
	defer p.mu.RUnlock()
	select {
	case p.queue <- f:
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TrySubmit queues fn if there is room and never blocks. It reports false,
// with a nil future, when the queue is full or Close or Shutdown has begun.
func (p *Pool[T]) TrySubmit(fn func(ctx context.Context) (T, error)) (*Future[T], bool) {
	if !p.enter() {
		return nil, false
	}
	defer p.mu.RUnlock()
	f := newFuture(fn)
	select {
	case p.queue <- f:
		return f, true
	default:
		return nil, false
	}
}

// Close stops intake, lets every queued and running task run to the end and
// returns when all workers have exited, like Python's shutdown(wait=True).
// Submitters blocked on a full queue get their tasks in before intake stops.
// Close may be called more than once and together with Shutdown; it always
// returns nil. It must not be called from a task of the pool, which it
// would wait for.
func (p *Pool[T]) Close() error {
	p.stopIntake()
	p.wg.Wait()
	return nil
}

// Shutdown is like [Pool.Close] but gives up waiting when ctx ends: queued
// tasks are then cancelled at once, without waiting for a free worker (their
// futures fail with [ErrCancelled], as Python's shutdown(cancel_futures=True)
// cancels pending futures), the contexts of running tasks are cancelled, and
// Shutdown returns ctx's error once the workers have exited, which they do
// as soon as running tasks return. Every future of the pool is done when
// Shutdown returns.
func (p *Pool[T]) Shutdown(ctx context.Context) error {
	stop := context.AfterFunc(ctx, p.abort)
	p.stopIntake()
	p.wg.Wait()
	if stop() {
		return nil
	}
	<-p.abortDone // abort ran or is running; let it finish
	return ctx.Err()
}

// Stop stops the pool at once: intake stops, queued tasks are cancelled at
// once (their futures fail with [ErrCancelled]) and the contexts of running
// tasks are cancelled; Stop returns once the workers have exited. It is
// Shutdown with no grace period, and safe to call more than once.
func (p *Pool[T]) Stop() {
	p.abort()
	p.stopIntake()
	p.wg.Wait()
}

// enter takes mu for reading and reports whether intake is open; when it
// is not, mu is not held.
func (p *Pool[T]) enter() bool {
	if !p.mu.TryRLock() {
		return false // stopIntake holds mu or waits for it
	}
	if p.closed {
		p.mu.RUnlock()
		return false
	}
	return true
}

func (p *Pool[T]) stopIntake() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.mu.Unlock()
	if p.aborted.Load() {
		p.cancelQueued() // what submitters blocked in abort put in
	}
}

// abort cancels the queued tasks and the contexts of running ones. A task
// queued after it is cancelled by stopIntake or by the worker that takes it.
func (p *Pool[T]) abort() {
	p.abortOnce.Do(func() {
		p.aborted.Store(true)
		for i := range p.running {
			if f := p.running[i].Load(); f != nil {
				f.Cancel()
			}
		}
		p.cancelQueued()
		close(p.abortDone)
	})
}

// cancelQueued takes every task waiting in the queue and cancels it, so that
// queued futures fail at once, not when a worker is free to drop them.
func (p *Pool[T]) cancelQueued() {
	for {
		select {
		case f, ok := <-p.queue:
			if !ok {
				return
			}
			f.Cancel()
		default:
			return
		}
	}
}

func stack() []byte { return debug.Stack() }
