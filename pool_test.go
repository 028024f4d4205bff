package sluice

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func value[T any](v T) func(context.Context) (T, error) {
	return func(context.Context) (T, error) { return v, nil }
}

// blocker returns a task that reports when it starts and runs until release
// is closed or its context is cancelled.
func blocker(started chan<- struct{}, release <-chan struct{}) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		started <- struct{}{}
		select {
		case <-release:
			return 1, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func TestPoolRunsEveryTask(t *testing.T) {
	for _, tc := range []struct{ workers, queue, tasks int }{
		{1, 0, 10},
		{3, 3, 30},
		{8, 100, 1000},
		{64, 1, 500},
	} {
		t.Run(fmt.Sprintf("w%d_q%d", tc.workers, tc.queue), func(t *testing.T) {
			p := NewPool[int](tc.workers, WithQueueSize(tc.queue))
			var active, peak atomic.Int64
			fs := make([]*Future[int], tc.tasks)
			for i := range fs {
				fs[i] = p.Submit(func(context.Context) (int, error) {
					n := active.Add(1)
					for {
						old := peak.Load()
						if n <= old || peak.CompareAndSwap(old, n) {
							break
						}
					}
					defer active.Add(-1)
					return i * i, nil
				})
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			for i, f := range fs {
				if f.State() != FutureDone {
					t.Fatalf("future %d state %v after Close", i, f.State())
				}
				v, err := f.Result()
				if err != nil || v != i*i {
					t.Fatalf("future %d = %d, %v; want %d", i, v, err, i*i)
				}
			}
			if got := peak.Load(); got > int64(tc.workers) {
				t.Fatalf("%d tasks ran at once, pool has %d workers", got, tc.workers)
			}
		})
	}
}

func TestSubmitFromManyGoroutines(t *testing.T) {
	p := NewPool[int](4)
	var wg sync.WaitGroup
	var sum atomic.Int64
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				v, err := p.Submit(value(g*1000 + i)).Result()
				if err != nil {
					t.Error(err)
				}
				sum.Add(int64(v))
			}
		})
	}
	wg.Wait()
	p.Close()
	var want int64
	for g := range 16 {
		for i := range 200 {
			want += int64(g*1000 + i)
		}
	}
	if sum.Load() != want {
		t.Fatalf("sum %d, want %d", sum.Load(), want)
	}
}

func TestSubmitBlocksWhenQueueFull(t *testing.T) {
	p := NewPool[int](1, WithQueueSize(2))
	started, release := make(chan struct{}, 1), make(chan struct{})
	p.Submit(blocker(started, release))
	<-started
	q1, q2 := p.Submit(value(2)), p.Submit(value(3)) // fill the queue

	if _, ok := p.TrySubmit(value(4)); ok {
		t.Fatal("TrySubmit succeeded on a full queue")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if f, err := p.SubmitCtx(ctx, value(5)); !errors.Is(err, context.DeadlineExceeded) || f != nil {
		t.Fatalf("SubmitCtx on full queue = %v, %v; want nil, deadline exceeded", f, err)
	}

	submitted := make(chan *Future[int])
	go func() { submitted <- p.Submit(value(6)) }()
	select {
	case <-submitted:
		t.Fatal("Submit returned while the queue was full")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	f := <-submitted
	for i, f := range []*Future[int]{q1, q2, f} {
		if v, err := f.Result(); err != nil || v != []int{2, 3, 6}[i] {
			t.Fatalf("future %d = %v, %v", i, v, err)
		}
	}
	p.Close()
}

func TestSubmitAfterClose(t *testing.T) {
	for _, name := range []string{"Close", "Shutdown"} {
		t.Run(name, func(t *testing.T) {
			p := NewPool[int](2)
			if name == "Close" {
				p.Close()
			} else if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			f := p.Submit(value(1))
			if _, err := f.Result(); !errors.Is(err, ErrPoolClosed) {
				t.Fatalf("Submit after %s: %v, want ErrPoolClosed", name, err)
			}
			if f.State() != FutureDone {
				t.Fatalf("state %v", f.State())
			}
			if _, err := p.SubmitCtx(context.Background(), value(1)); !errors.Is(err, ErrPoolClosed) {
				t.Fatalf("SubmitCtx after %s: %v", name, err)
			}
			if _, ok := p.TrySubmit(value(1)); ok {
				t.Fatalf("TrySubmit after %s succeeded", name)
			}
			if err := p.Close(); err != nil {
				t.Fatalf("second close: %v", err)
			}
		})
	}
}

func TestCloseWaitsForQueuedAndRunning(t *testing.T) {
	p := NewPool[int](2, WithQueueSize(10))
	var ran atomic.Int32
	fs := make([]*Future[int], 12)
	for i := range fs {
		fs[i] = p.Submit(func(context.Context) (int, error) {
			time.Sleep(time.Millisecond)
			ran.Add(1)
			return i, nil
		})
	}
	p.Close()
	if ran.Load() != 12 {
		t.Fatalf("Close returned after %d of 12 tasks", ran.Load())
	}
}

func TestShutdownDeadlineCancels(t *testing.T) {
	p := NewPool[int](2, WithQueueSize(5))
	started, release := make(chan struct{}, 2), make(chan struct{})
	defer close(release)
	running := []*Future[int]{p.Submit(blocker(started, release)), p.Submit(blocker(started, release))}
	<-started
	<-started
	var queued []*Future[int]
	var ranQueued atomic.Int32
	for range 5 {
		queued = append(queued, p.Submit(func(context.Context) (int, error) { ranQueued.Add(1); return 0, nil }))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	for i, f := range running {
		if _, err := f.Result(); !errors.Is(err, context.Canceled) {
			t.Errorf("running task %d: %v, want its context cancelled", i, err)
		}
		if f.State() != FutureDone {
			t.Errorf("running task %d state %v", i, f.State())
		}
	}
	for i, f := range queued {
		if f.State() != FutureCancelled {
			t.Errorf("queued task %d state %v, want cancelled", i, f.State())
		}
		if _, err := f.Result(); !errors.Is(err, ErrCancelled) {
			t.Errorf("queued task %d: %v", i, err)
		}
	}
	if ranQueued.Load() != 0 {
		t.Errorf("%d queued tasks ran after the deadline", ranQueued.Load())
	}
}

func TestShutdownInTime(t *testing.T) {
	p := NewPool[int](2)
	fs := []*Future[int]{p.Submit(value(1)), p.Submit(value(2))}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := Gather(context.Background(), fs); err != nil || got[0] != 1 || got[1] != 2 {
		t.Fatalf("Gather = %v, %v", got, err)
	}
}

func TestCancel(t *testing.T) {
	p := NewPool[int](1, WithQueueSize(1))
	defer p.Close()
	started, release := make(chan struct{}, 1), make(chan struct{})
	run := p.Submit(blocker(started, release))
	<-started
	var ran atomic.Bool
	queued := p.Submit(func(context.Context) (int, error) { ran.Store(true); return 0, nil })

	if queued.State() != FuturePending || run.State() != FutureRunning {
		t.Fatalf("states %v, %v; want pending, running", queued.State(), run.State())
	}
	if !queued.Cancel() {
		t.Fatal("Cancel of a queued task returned false")
	}
	if queued.Cancel() {
		t.Fatal("second Cancel returned true")
	}
	select {
	case <-queued.Done():
	default:
		t.Fatal("cancelled future not done")
	}
	if queued.State() != FutureCancelled {
		t.Fatalf("state %v", queued.State())
	}
	if run.Cancel() {
		t.Fatal("Cancel of a running task returned true")
	}
	if _, err := run.Result(); !errors.Is(err, context.Canceled) {
		t.Fatalf("running task after Cancel: %v", err)
	}
	if run.State() != FutureDone {
		t.Fatalf("state %v", run.State())
	}
	if run.Cancel() {
		t.Fatal("Cancel of a finished task returned true")
	}
	p.Close()
	if ran.Load() {
		t.Fatal("cancelled task ran")
	}
}

func TestTaskContextDerived(t *testing.T) {
	p := NewPool[error](1)
	defer p.Close()
	started := make(chan struct{})
	f := p.Submit(func(ctx context.Context) (error, error) {
		child, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		close(started)
		<-child.Done()
		return ctx.Err(), child.Err()
	})
	<-started
	f.Cancel()
	parentErr, childErr := f.Result()
	if !errors.Is(parentErr, context.Canceled) || !errors.Is(childErr, context.Canceled) {
		t.Fatalf("parent %v, child %v; want both cancelled", parentErr, childErr)
	}
	// A derived context whose own cancel runs first must not leave work behind.
	g := p.Submit(func(ctx context.Context) (error, error) {
		child, cancel := context.WithCancel(ctx)
		cancel()
		return child.Err(), ctx.Err()
	})
	if childErr, parentErr := g.Result(); !errors.Is(childErr, context.Canceled) || parentErr != nil {
		t.Fatalf("child %v, parent %v", childErr, parentErr)
	}
}

func TestPanicBecomesError(t *testing.T) {
	p := NewPool[int](1)
	defer p.Close()
	sentinel := errors.New("boom")
	f := p.Submit(func(context.Context) (int, error) { panic(sentinel) })
	g := p.Submit(func(context.Context) (int, error) { panic("plain") })
	h := p.Submit(value(7))
	_, err := f.Result()
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, sentinel) || len(pe.Stack) == 0 {
		t.Fatalf("panic error = %#v", err)
	}
	if _, err := g.Result(); !errors.As(err, &pe) || pe.Value != "plain" || err.Error() != "sluice: task panicked: plain" {
		t.Fatalf("panic error = %v", err)
	}
	if v, err := h.Result(); v != 7 || err != nil {
		t.Fatalf("pool stopped working after a panic: %v, %v", v, err)
	}
}

func TestFutureWait(t *testing.T) {
	p := NewPool[int](1)
	defer p.Close()
	started, release := make(chan struct{}, 1), make(chan struct{})
	f := p.Submit(blocker(started, release))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v", err)
	}
	if f.State() != FutureRunning {
		t.Fatal("Wait's ctx affected the task")
	}
	close(release)
	if v, err := f.Wait(context.Background()); v != 1 || err != nil {
		t.Fatalf("Wait = %v, %v", v, err)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[FutureState]string{FuturePending: "pending", FutureRunning: "running", FutureDone: "done", FutureCancelled: "cancelled", 9: "FutureState(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
}

// TestCancelPublishesErrorFirst cancels a pending future while another
// goroutine waits for it to be final and then reads it with Wait, Gather
// and OnDone: a future that showed its final state before its error was
// written let them read no error, or a torn one (go test -race).
func TestCancelPublishesErrorFirst(t *testing.T) {
	ctx := context.Background()
	for range 2000 {
		f := newFuture(value(5)) // as queued: pending, not run
		errs := make(chan error, 3)
		go f.Cancel()
		for f.State() == FuturePending {
			runtime.Gosched()
		}
		_, err := f.Wait(ctx)
		errs <- err
		_, err = Gather(ctx, []*Future[int]{f})
		errs <- err
		f.OnDone(func() { errs <- f.err })
		for range 3 {
			if err := <-errs; !errors.Is(err, ErrCancelled) {
				t.Fatalf("a cancelled future read as %v, want ErrCancelled", err)
			}
		}
	}
}

// TestGoexitBecomesError runs a task that calls runtime.Goexit, as
// t.FailNow does when a test calls it from a task: its future fails, the
// pool keeps its worker and runs the tasks after it, and Close returns
// once they have run. The future stayed pending for ever, and the tasks
// queued behind it on a one-worker pool never ran.
func TestGoexitBecomesError(t *testing.T) {
	p := NewPool[int](1, WithQueueSize(3))
	exit := p.Submit(func(context.Context) (int, error) {
		runtime.Goexit()
		return 1, nil
	})
	after := []*Future[int]{p.Submit(value(2)), p.Submit(value(3))}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := exit.Wait(ctx); err == nil || err.Error() != "sluice: task called runtime.Goexit" || exit.State() != FutureDone {
		t.Fatalf("task that called runtime.Goexit: %v, state %v; want its error, done", err, exit.State())
	}
	if got, err := Gather(ctx, after); err != nil || !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("tasks after it: %v, %v; want [2 3]", got, err)
	}
	p.Close()
}

// TestStopCancelsQueuedAtOnce stops a pool whose one worker runs a task
// that ignores its context, with two tasks queued and a third Submit
// blocked on the full queue: the queued futures and the blocked Submit's
// are cancelled at once, as Python's shutdown(cancel_futures=True) cancels
// pending futures before it waits for running ones. They stayed pending,
// and the Submit blocked, until the running task returned.
func TestStopCancelsQueuedAtOnce(t *testing.T) {
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		stop func(*Pool[int])
	}{
		{"Stop", (*Pool[int]).Stop},
		{"Shutdown", func(p *Pool[int]) { p.Shutdown(expired) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool[int](1, WithQueueSize(2))
			started, release := make(chan struct{}), make(chan struct{})
			running := p.Submit(func(context.Context) (int, error) {
				close(started)
				<-release
				return 1, nil
			})
			<-started
			fs := []*Future[int]{p.Submit(value(2)), p.Submit(value(3))}
			blocked := make(chan *Future[int])
			go func() { blocked <- p.Submit(value(4)) }()
			stopped := make(chan struct{})
			go func() {
				tc.stop(p)
				close(stopped)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			select {
			case f := <-blocked:
				fs = append(fs, f)
			case <-ctx.Done():
			}
			_, pending, err := Wait(ctx, fs, AllCompleted)
			close(release)
			<-stopped
			if err != nil || len(fs) != 3 {
				t.Fatalf("%d futures submitted, %d pending while a running task held the worker: %v", len(fs), len(pending), err)
			}
			for i, f := range fs {
				if _, err := f.Result(); !errors.Is(err, ErrCancelled) && !errors.Is(err, ErrPoolClosed) {
					t.Errorf("queued future %d: %v, want ErrCancelled", i, err)
				}
			}
			if v, err := running.Result(); v != 1 || err != nil {
				t.Errorf("running task: %v, %v; want it to finish", v, err)
			}
		})
	}
}

// TestSubmitWhileCloseWaits submits while Close waits for a Submit blocked
// on the full queue: TrySubmit returns false at once, as it never blocks,
// and SubmitCtx and Submit fail with ErrPoolClosed at once, as Close has
// begun. They waited, SubmitCtx past its ctx, until a running task
// returned and let the blocked Submit in.
func TestSubmitWhileCloseWaits(t *testing.T) {
	p := NewPool[int](1, WithQueueSize(1))
	started, release := make(chan struct{}, 1), make(chan struct{})
	running := p.Submit(blocker(started, release))
	<-started
	queued := p.Submit(value(2))
	blocked := make(chan *Future[int])
	go func() { blocked <- p.Submit(value(3)) }()
	time.Sleep(50 * time.Millisecond) // let it block
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	defer func() {
		close(release)
		<-closed
	}()
	for p.mu.TryRLock() { // until Close waits for the lock
		p.mu.RUnlock()
		select {
		case <-closed:
			t.Fatal("Close returned: the Submit had not blocked")
		default:
			runtime.Gosched()
		}
	}
	late := make(chan error, 3)
	go func() {
		_, ok := p.TrySubmit(value(4))
		late <- fmt.Errorf("TrySubmit: %v", ok)
	}()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		_, err := p.SubmitCtx(ctx, value(5))
		late <- err
	}()
	go func() {
		_, err := p.Submit(value(6)).Result()
		late <- err
	}()
	timeout := time.After(5 * time.Second)
	for range 3 {
		select {
		case err := <-late:
			if !errors.Is(err, ErrPoolClosed) && err.Error() != "TrySubmit: false" {
				t.Errorf("a submit while Close waits: %v", err)
			}
		case <-timeout:
			t.Fatal("a submit while Close waits blocked until a running task returned")
		}
	}
	close(release)
	release = make(chan struct{}) // for the deferred close
	<-closed
	for i, f := range []*Future[int]{running, queued, <-blocked} {
		if v, err := f.Result(); v != i+1 || err != nil {
			t.Errorf("future %d = %v, %v; want %d: Close drains", i, v, err, i+1)
		}
	}
}
