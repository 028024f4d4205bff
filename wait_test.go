package sluice

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// gated submits n tasks that each return their index once their gate opens.
func gated(p *Pool[int], n int) ([]*Future[int], []chan error) {
	fs := make([]*Future[int], n)
	gates := make([]chan error, n)
	for i := range n {
		gates[i] = make(chan error, 1)
		fs[i] = p.Submit(func(ctx context.Context) (int, error) {
			select {
			case err := <-gates[i]:
				return i, err
			case <-ctx.Done():
				return -1, ctx.Err()
			}
		})
	}
	return fs, gates
}

func TestWait(t *testing.T) {
	errBad := errors.New("bad")
	type step struct {
		index int
		err   error
	}
	for _, tc := range []struct {
		name        string
		mode        WaitMode
		open        []step
		wantDone    []int
		wantPending int
		timeout     bool
	}{
		{"first completed", FirstCompleted, []step{{2, nil}}, []int{2}, 3, false},
		{"first error after ok", FirstError, []step{{0, nil}, {3, errBad}}, []int{0, 3}, 2, false},
		{"first error none", FirstError, []step{{0, nil}, {1, nil}, {2, nil}, {3, nil}}, []int{0, 1, 2, 3}, 0, false},
		{"all completed", AllCompleted, []step{{3, errBad}, {1, nil}, {0, nil}, {2, nil}}, []int{3, 1, 0, 2}, 0, false},
		{"timeout", AllCompleted, nil, nil, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool[int](4)
			fs, gates := gated(p, 4)
			defer cancelAndClose(p, fs)
			// Open the gates one at a time so completion order is known.
			for _, s := range tc.open {
				gates[s.index] <- s.err
				<-fs[s.index].Done()
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.timeout {
				cancel()
			}
			done, pending, err := Wait(ctx, fs, tc.mode)
			cancel()
			if tc.timeout != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			var got []int
			for _, f := range done {
				got = append(got, slices.Index(fs, f))
			}
			if tc.mode == AllCompleted && !tc.timeout {
				slices.Sort(got) // callbacks of already-done futures fire in index order
				slices.Sort(tc.wantDone)
			}
			if !slices.Equal(got, tc.wantDone) || len(pending) != tc.wantPending {
				t.Fatalf("done %v pending %d; want %v, %d", got, len(pending), tc.wantDone, tc.wantPending)
			}
		})
	}
}

func TestWaitReturnsOnFirstCompletion(t *testing.T) {
	p := NewPool[int](3)
	defer p.Close()
	fs, gates := gated(p, 3)
	go func() { gates[1] <- nil }()
	done, pending, err := Wait(context.Background(), fs, FirstCompleted)
	if err != nil || len(done) != 1 || done[0] != fs[1] || len(pending) != 2 {
		t.Fatalf("done %d pending %d err %v", len(done), len(pending), err)
	}
	gates[0] <- nil
	gates[2] <- nil
}

func TestAsCompletedOrder(t *testing.T) {
	p := NewPool[int](5)
	defer p.Close()
	fs, gates := gated(p, 5)
	order := []int{3, 0, 4, 1, 2}
	// Each task is let finish once the one before it is yielded: a future
	// yielded in any order but that of completion (the order of fs, say)
	// would wait for one that cannot finish, until ctx ends. (Releasing
	// each once the one before is done, without waiting for its yield,
	// let two workers' completion callbacks race.)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gates[order[0]] <- nil
	var got []int
	for f := range AsCompleted(ctx, fs) {
		v, _ := f.Result()
		got = append(got, v)
		if len(got) < len(order) {
			gates[order[len(got)]] <- nil
		}
	}
	if !slices.Equal(got, order) {
		t.Fatalf("completion order %v, want %v", got, order)
	}
}

func TestAsCompletedStopsOnContext(t *testing.T) {
	p := NewPool[int](2)
	defer p.Close()
	fs, gates := gated(p, 2)
	gates[0] <- nil
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	for range AsCompleted(ctx, fs) {
		n++
		cancel()
	}
	if n != 1 || ctx.Err() == nil {
		t.Fatalf("yielded %d futures", n)
	}
	gates[1] <- nil
}

func TestGather(t *testing.T) {
	p := NewPool[int](4)
	defer p.Close()
	fs, gates := gated(p, 4)
	for _, i := range []int{2, 0, 3, 1} {
		gates[i] <- nil
	}
	got, err := Gather(context.Background(), fs)
	if err != nil || !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("Gather = %v, %v", got, err)
	}

	fs, gates = gated(p, 3)
	errBad := errors.New("bad")
	gates[0] <- nil
	<-fs[0].Done()
	gates[2] <- errBad
	got, err = Gather(context.Background(), fs) // fs[1] never finishes in time
	if !errors.Is(err, errBad) || got[0] != 0 {
		t.Fatalf("Gather = %v, %v; want first error", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := Gather(ctx, fs); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, errBad) {
		t.Fatalf("Gather = %v", err)
	}
	gates[1] <- nil
}

func TestMapOrderAndErrors(t *testing.T) {
	p := NewPool[string](4)
	defer p.Close()
	in := slices.Values([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	var got []string
	var errs int
	for v, err := range Map(context.Background(), p, in, func(_ context.Context, n int) (string, error) {
		time.Sleep(time.Duration(10-n) * time.Millisecond) // later inputs finish first
		if n%4 == 0 {
			return "", fmt.Errorf("n=%d", n)
		}
		return fmt.Sprint(n), nil
	}) {
		if err != nil {
			errs++
			continue
		}
		got = append(got, v)
	}
	if want := []string{"1", "2", "3", "5", "6", "7", "9", "10"}; !slices.Equal(got, want) || errs != 2 {
		t.Fatalf("Map = %v with %d errors", got, errs)
	}
}

func TestMapIsLazy(t *testing.T) {
	p := NewPool[int](2, WithQueueSize(3))
	defer p.Close()
	var read atomic.Int64
	in := func(yield func(int) bool) {
		for i := 0; ; i++ {
			read.Add(1)
			if !yield(i) {
				return
			}
		}
	}
	var seen int
	for v, err := range Map(context.Background(), p, iter.Seq[int](in), func(_ context.Context, n int) (int, error) { return n, nil }) {
		if err != nil || v != seen {
			t.Fatalf("got %d, %v; want %d", v, err, seen)
		}
		seen++
		if seen == 3 {
			time.Sleep(20 * time.Millisecond) // a slow consumer
			if r := read.Load(); r > int64(seen+p.Workers()+p.QueueSize()) {
				t.Fatalf("read %d inputs while only %d results were consumed", r, seen)
			}
		}
		if seen == 100 {
			break
		}
	}
	if r := read.Load(); r > int64(100+p.Workers()+p.QueueSize()) {
		t.Fatalf("read %d inputs for 100 results", r)
	}
}

func TestMapContextEnds(t *testing.T) {
	p := NewPool[int](2)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var errs []error
	for _, err := range Map(ctx, p, slices.Values(make([]int, 50)), func(ctx context.Context, _ int) (int, error) {
		<-ctx.Done() // finishes only when Map cancels it
		return 0, ctx.Err()
	}) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Fatalf("Map yielded %v; want one deadline error", errs)
	}
}

// cancelAndClose cancels fs, which gated made, and closes p.
func cancelAndClose(p *Pool[int], fs []*Future[int]) {
	for _, f := range fs {
		f.Cancel()
	}
	p.Close()
}

// TestRepeatedFutures checks that a future given twice is yielded, or
// counted done or pending, once, as Python's as_completed and wait do,
// while Gather keeps a result for each place.
func TestRepeatedFutures(t *testing.T) {
	p := NewPool[int](2)
	fs, gates := gated(p, 2)
	defer cancelAndClose(p, fs)
	a, b := fs[0], fs[1]
	gates[0] <- nil
	<-a.Done()
	ctx := context.Background()
	done, pending, err := Wait(ctx, []*Future[int]{a, b, a, b}, FirstCompleted)
	if err != nil || !slices.Equal(done, []*Future[int]{a}) || !slices.Equal(pending, []*Future[int]{b}) {
		t.Fatalf("Wait(FirstCompleted) = %d done, %d pending, %v; want a done, b pending", len(done), len(pending), err)
	}
	gates[1] <- nil
	done, pending, err = Wait(ctx, []*Future[int]{a, b, a, b}, AllCompleted)
	if err != nil || len(done) != 2 || len(pending) != 0 {
		t.Fatalf("Wait(AllCompleted) = %d done, %d pending, %v; want 2 and 0", len(done), len(pending), err)
	}
	var got []*Future[int]
	for f := range AsCompleted(ctx, []*Future[int]{a, a, b, a}) {
		got = append(got, f)
	}
	if len(got) != 2 || !slices.Contains(got, a) || !slices.Contains(got, b) {
		t.Fatalf("AsCompleted yielded %d futures, want a and b once each", len(got))
	}
	if vals, err := Gather(ctx, []*Future[int]{a, b, a}); err != nil || !slices.Equal(vals, []int{0, 1, 0}) {
		t.Fatalf("Gather = %v, %v; want [0 1 0]", vals, err)
	}
}

// TestCollectWithEndedContext checks that Wait, AsCompleted and Gather
// given a context that has ended take every future done already, as
// Python's wait(fs, timeout=0) does: they chose at random between the
// ended context and each completion.
func TestCollectWithEndedContext(t *testing.T) {
	p := NewPool[int](4)
	fs, gates := gated(p, 4)
	defer cancelAndClose(p, fs)
	for i := range 3 {
		gates[i] <- nil
		<-fs[i].Done()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 {
		done, pending, err := Wait(ctx, fs, AllCompleted)
		if !errors.Is(err, context.Canceled) || len(done) != 3 || !slices.Equal(pending, fs[3:]) {
			t.Fatalf("Wait = %d done, %d pending, %v; want 3 done, the last pending, context.Canceled", len(done), len(pending), err)
		}
		n := 0
		for range AsCompleted(ctx, fs) {
			n++
		}
		if n != 3 {
			t.Fatalf("AsCompleted yielded %d futures, want the 3 done", n)
		}
		if vals, err := Gather(ctx, fs[:3]); err != nil || !slices.Equal(vals, []int{0, 1, 2}) {
			t.Fatalf("Gather of done futures = %v, %v; want [0 1 2], nil", vals, err)
		}
	}
}

// TestPollingLeavesNoCallbacks polls a future that stays pending with
// Wait, AsCompleted and Gather under a ctx that has ended, as Python's
// wait(fs, timeout=0) is used in a loop: no poll leaves its callback on
// the future (each left one, so a poll loop grew it without end), and a
// waiter that registered among the polls still wakes when it completes.
func TestPollingLeavesNoCallbacks(t *testing.T) {
	p := NewPool[int](1)
	fs, gates := gated(p, 1)
	defer func() {
		fs[0].Cancel()
		p.Close()
	}()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	woke := make(chan error, 1)
	go func() {
		_, err := Gather(context.Background(), fs)
		woke <- err
	}()
	for range 1000 {
		if _, pending, _ := Wait(ended, fs, AllCompleted); len(pending) != 1 {
			t.Fatalf("Wait: %d pending, want 1", len(pending))
		}
		for range AsCompleted(ended, fs) {
			t.Fatal("AsCompleted yielded a pending future")
		}
		if _, err := Gather(ended, fs); !errors.Is(err, context.Canceled) {
			t.Fatalf("Gather = %v, want context.Canceled", err)
		}
	}
	fs[0].mu.Lock()
	n, places := 0, len(fs[0].callbacks)
	for _, cb := range fs[0].callbacks {
		if cb != nil {
			n++
		}
	}
	fs[0].mu.Unlock()
	// The waiting Gather's may be left, and one place taken back before
	// it that it keeps from being trimmed.
	if n > 1 || places > 2 {
		t.Fatalf("%d callbacks in %d places left on the future after 3000 polls", n, places)
	}
	gates[0] <- nil
	select {
	case err := <-woke:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting Gather did not wake")
	}
}

// TestWaitFirstErrorSkipsCancelled waits with FirstError on a future
// cancelled before it ran and two that run: like Python's FIRST_EXCEPTION,
// which does not count cancelled futures, Wait returns at the first task
// that fails, not at the cancelled one. It returned at once, with the
// cancellation as the first error.
func TestWaitFirstErrorSkipsCancelled(t *testing.T) {
	p := NewPool[int](1, WithQueueSize(2))
	fs, gates := gated(p, 3) // fs[0] runs, fs[1] and fs[2] wait
	defer cancelAndClose(p, fs)
	if !fs[2].Cancel() {
		t.Fatal("Cancel of a queued task returned false")
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	done, pending, err := Wait(ended, fs, FirstError)
	if !errors.Is(err, context.Canceled) || !slices.Equal(done, fs[2:]) || !slices.Equal(pending, fs[:2]) {
		t.Fatalf("Wait = %d done, %d pending, %v; want the cancelled one done, two pending, context.Canceled", len(done), len(pending), err)
	}
	errBad := errors.New("bad")
	gates[0] <- nil
	gates[1] <- errBad
	done, pending, err = Wait(context.Background(), fs, FirstError)
	if err != nil || len(done) != 3 || len(pending) != 0 || !errors.Is(fs[1].err, errBad) {
		t.Fatalf("Wait = %d done, %d pending, %v; want all 3 done at the failure", len(done), len(pending), err)
	}
}
