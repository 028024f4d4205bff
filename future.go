// This file holds Future, the handle to one task's eventual result.

package sluice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
)

// ErrCancelled is the error of a future whose task was cancelled before it
// started, by [Future.Cancel] or by [Pool.Shutdown].
var ErrCancelled = failure.New(failure.Cancelled, "sluice: future cancelled")

// ErrPoolClosed is the error of a future submitted after [Pool.Close] or
// [Pool.Shutdown] began.
var ErrPoolClosed = failure.New(failure.Cancelled, "sluice: pool closed")

// PanicError is the error of a future whose task panicked. The pool recovers
// the panic, records it here and goes on running other tasks.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the goroutine stack at the time of the panic.
	Stack []byte
}

// Error reports the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("sluice: task panicked: %v", e.Value) }

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see through the panic.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// FutureState is the life-cycle stage of a [Future].
type FutureState int32

// The states of a Future. A future moves from FuturePending to FutureRunning
// to FutureDone, or from FuturePending straight to FutureCancelled;
// FutureDone and FutureCancelled are final. (A crawler.State is the state of
// a URL in a crawl, a different thing.)
const (
	// FuturePending: queued, not yet started.
	FuturePending FutureState = iota
	// FutureRunning: a worker is running the task.
	FutureRunning
	// FutureDone: the task returned (with a result or an error) or panicked.
	FutureDone
	// FutureCancelled: the task was cancelled before it started and never runs.
	FutureCancelled
)

// The stages a future passes through on its way to final while the
// goroutine that claimed it writes its outcome. State reports them as the
// stage before, so that a future seen final has its result readable.
const (
	cancelling = FutureCancelled + 1 + iota // from FuturePending to FutureCancelled
	settling                                // from FutureRunning to FutureDone
)

// String returns the state's name in lower case.
func (s FutureState) String() string {
	switch s {
	case FuturePending:
		return "pending"
	case FutureRunning:
		return "running"
	case FutureDone:
		return "done"
	case FutureCancelled:
		return "cancelled"
	}
	return fmt.Sprintf("FutureState(%d)", int32(s))
}

// closedChan is returned by Done methods once the future has completed, so
// that a finished future never allocates a channel. It is closed in init and
// never written again.
var closedChan = make(chan struct{})

func init() { close(closedChan) }

// Future is the eventual result of a task submitted to a [Pool]. Its methods
// are safe for concurrent use. A Future is created only by a Pool (or by the
// package functions built on one); the zero value is not usable.
type Future[T any] struct {
	fn    func(context.Context) (T, error)
	val   T
	err   error
	state atomic.Int32
	wg    sync.WaitGroup // Result blocks on it: waiting needs no channel

	mu        sync.Mutex // guards done and callbacks
	done      chan struct{}
	callbacks []func()

	ctx taskCtx // the context the task runs with
}

func newFuture[T any](fn func(context.Context) (T, error)) *Future[T] {
	f := &Future[T]{fn: fn}
	f.wg.Add(1)
	return f
}

// failedFuture returns a future that has already completed with err.
func failedFuture[T any](err error) *Future[T] {
	f := newFuture[T](nil)
	var zero T
	f.complete(zero, err, FutureDone)
	return f
}

// Result waits for the task to finish and returns its result and error.
// The error is [ErrCancelled] if the task was cancelled before it ran,
// [ErrPoolClosed] if it was submitted to a closed pool, and a *[PanicError]
// if it panicked (or an error saying so if it called runtime.Goexit).
func (f *Future[T]) Result() (T, error) {
	f.wg.Wait()
	return f.val, f.err
}

// Wait is like [Future.Result], but gives up when ctx is done and then
// returns ctx's error. ctx bounds only the wait: the task goes on.
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	if f.final() {
		return f.val, f.err
	}
	select {
	case <-f.Done():
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Done returns a channel that is closed when the future completes, whether
// with a result, an error, a panic or a cancellation.
func (f *Future[T]) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.final() {
		return closedChan
	}
	if f.done == nil {
		f.done = make(chan struct{})
	}
	return f.done
}

// State reports the future's current state.
func (f *Future[T]) State() FutureState {
	switch s := FutureState(f.state.Load()); s {
	case cancelling:
		return FuturePending
	case settling:
		return FutureRunning
	default:
		return s
	}
}

// final reports whether the future is done and its outcome written.
func (f *Future[T]) final() bool {
	s := FutureState(f.state.Load())
	return s == FutureDone || s == FutureCancelled
}

// Cancel tries to cancel the task. If it had not started, it never will:
// the future completes with [ErrCancelled] and Cancel returns true. If it is
// running, Cancel cancels the context the task runs with and returns false;
// the future completes when the task returns. If it has finished, Cancel
// does nothing and returns false.
func (f *Future[T]) Cancel() bool { return f.cancelWith(ErrCancelled, context.Canceled) }

// cancelWith is Cancel, but a future that has not started completes with
// pendingErr, and the context of a running task ends with runErr: a fetch
// whose request's context passed its deadline fails with
// context.DeadlineExceeded, not context.Canceled, whether it waited or ran.
func (f *Future[T]) cancelWith(pendingErr, runErr error) bool {
	if f.state.CompareAndSwap(int32(FuturePending), int32(cancelling)) {
		var zero T
		f.complete(zero, pendingErr, FutureCancelled)
		return true
	}
	if FutureState(f.state.Load()) == FutureRunning {
		f.ctx.cancelErr(runErr)
	}
	return false
}

// errGoexit is the error of a future whose task called runtime.Goexit (as
// t.FailNow does), which ends the goroutine that runs it.
var errGoexit = errors.New("sluice: task called runtime.Goexit")

// run runs the task on the calling goroutine unless it was cancelled first.
// A task that calls runtime.Goexit ends that goroutine; its future is
// completed with errGoexit on the way out.
func (f *Future[T]) run() {
	if !f.state.CompareAndSwap(int32(FuturePending), int32(FutureRunning)) {
		return // cancelled while queued
	}
	var (
		val   T
		err   error
		ended bool // by a return or a panic
	)
	func() {
		defer func() {
			if ended {
				return
			}
			if r := recover(); r != nil {
				err, ended = &PanicError{Value: r, Stack: stack()}, true
				return
			}
			f.complete(val, errGoexit, FutureDone) // neither: runtime.Goexit
		}()
		val, err = f.fn(&f.ctx)
		ended = true
	}()
	if ended {
		f.complete(val, err, FutureDone)
	}
}

// The helpers below are how code outside this file (the Fetcher) moves a
// future through its life cycle; nothing else touches its state.

// start moves a pending future to FutureRunning and reports whether it
// did; it
// does not when the future was cancelled first.
func (f *Future[T]) start() bool {
	return f.state.CompareAndSwap(int32(FuturePending), int32(FutureRunning))
}

// settle completes the future with val and err from whatever stage it is
// in: a pending future becomes FutureCancelled, a running one FutureDone. It does
// nothing to a future already final.
func (f *Future[T]) settle(val T, err error) {
	if f.state.CompareAndSwap(int32(FuturePending), int32(cancelling)) {
		f.complete(val, err, FutureCancelled)
		return
	}
	if f.state.CompareAndSwap(int32(FutureRunning), int32(settling)) {
		f.complete(val, err, FutureDone)
	}
}

// taskContext returns the context the future's work runs with.
func (f *Future[T]) taskContext() context.Context { return &f.ctx }

// cancelTask cancels the context the future's work runs with.
func (f *Future[T]) cancelTask() { f.ctx.cancel() }

// complete records the outcome, then makes the future final and wakes
// every waiter. The caller must own the transition to final: by creating
// the future, by running it, or by a CAS to cancelling or settling; the
// final state is stored only once the outcome is written, for the readers
// that check it before they read.
func (f *Future[T]) complete(val T, err error, final FutureState) {
	f.val, f.err, f.fn = val, err, nil
	f.mu.Lock()
	f.state.Store(int32(final))
	done, cbs := f.done, f.callbacks
	f.callbacks = nil
	f.mu.Unlock()
	if done != nil {
		close(done)
	}
	f.wg.Done()
	for _, cb := range cbs {
		if cb != nil { // nil where removeCallback took it back
			cb()
		}
	}
}

// OnDone arranges for cb to be called once the future is done, like
// Python's add_done_callback: at once, on the calling goroutine, if it
// already is; otherwise on the goroutine that completes it, which is often
// a pool worker, so cb must be quick and must not block. Callbacks run in
// the order they were given; a panic in one is not recovered. Result may
// return before the callbacks have run.
func (f *Future[T]) OnDone(cb func()) { f.onDone(cb) }

// onDone is OnDone, and returns the place of cb for removeCallback, or -1
// if cb has run already.
func (f *Future[T]) onDone(cb func()) int {
	f.mu.Lock()
	if !f.final() {
		f.callbacks = append(f.callbacks, cb)
		i := len(f.callbacks) - 1
		f.mu.Unlock()
		return i
	}
	f.mu.Unlock()
	cb()
	return -1
}

// removeCallback takes back the callback onDone put at place i, unless it
// has run: a Wait that gives up on a future leaves nothing on it, so a
// caller that polls a future that stays pending (Wait with a ctx that has
// ended, as Python's timeout=0) does not grow its callbacks with each
// poll. Each place is taken back once at most.
func (f *Future[T]) removeCallback(i int) {
	if i < 0 {
		return
	}
	f.mu.Lock()
	if i < len(f.callbacks) {
		f.callbacks[i] = nil
		n := len(f.callbacks)
		for n > 0 && f.callbacks[n-1] == nil {
			n--
		}
		f.callbacks = f.callbacks[:n]
		if n == 0 {
			f.callbacks = nil
		}
	}
	f.mu.Unlock()
}

// taskCtx is the context a task runs with. It lives inside its Future so that
// a task costs no extra allocation; its Done channel is made only when the
// task asks for it.
type taskCtx struct {
	mu     sync.Mutex
	done   chan struct{}
	err    error
	afters map[*afterFunc]struct{}
}

type afterFunc struct{ f func() }

var _ context.Context = (*taskCtx)(nil)

func (c *taskCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *taskCtx) Value(any) any               { return nil }
func (c *taskCtx) String() string              { return "sluice.taskContext" }

func (c *taskCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedChan
		}
		c.done = make(chan struct{})
	}
	return c.done
}

func (c *taskCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc lets contexts derived from a task's context (context.WithCancel
// and friends) register for cancellation without a goroutine each.
func (c *taskCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if c.afters == nil {
		c.afters = make(map[*afterFunc]struct{})
	}
	c.afters[a] = struct{}{}
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.afters[a]; ok {
			delete(c.afters, a)
			return true
		}
		return false
	}
}

func (c *taskCtx) cancel() { c.cancelErr(context.Canceled) }

// cancelErr ends the context with err, unless it has ended already.
func (c *taskCtx) cancelErr(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for a := range afters {
		go a.f()
	}
}
