// Package frontiertest checks that an implementation of crawler.Frontier
// keeps the interface's promises: exactly-once admission, per-host FIFO
// queues, explicit states, leases that a stale answer cannot use, and
// counts that add up, alone and under concurrent use.
//
// A frontier's own tests call [Run] with a function that opens a new, empty
// frontier:
//
//	func TestDiskFrontier(t *testing.T) {
//		frontiertest.Run(t, func(t *testing.T) crawler.Frontier { ... })
//	}
package frontiertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/crawler"
)

// Run runs the conformance tests as subtests of t. open returns a new,
// empty frontier; it registers its own cleanup with t.
func Run(t *testing.T, open func(t *testing.T) crawler.Frontier) {
	t.Run("States", func(t *testing.T) { testStates(t, open(t)) })
	t.Run("BatchAdmission", func(t *testing.T) { testBatch(t, open(t)) })
	t.Run("FIFOPerHost", func(t *testing.T) { testFIFO(t, open(t)) })
	t.Run("StaleLease", func(t *testing.T) { testStaleLease(t, open(t)) })
	t.Run("ConcurrentAdmit", func(t *testing.T) { testConcurrent(t, open(t)) })
}

const host = "http://a.example"

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func state(t *testing.T, f crawler.Frontier, u string) crawler.State {
	t.Helper()
	s, err := f.State(context.Background(), u)
	must(t, err)
	return s
}

func counts(t *testing.T, f crawler.Frontier) [2]int {
	t.Helper()
	p, n, err := f.Counts(context.Background())
	must(t, err)
	return [2]int{p, n}
}

func testStates(t *testing.T, f crawler.Frontier) {
	ctx := context.Background()
	u := host + "/x"
	if s := state(t, f, u); s != crawler.Unseen {
		t.Fatalf("state %v, want unseen", s)
	}
	added, err := f.Admit(ctx, []crawler.Entry{{URL: u, Parent: host + "/", Depth: 2}})
	must(t, err)
	if !slices.Equal(added, []bool{true}) {
		t.Fatalf("first admit: %v", added)
	}
	added, err = f.Admit(ctx, []crawler.Entry{{URL: u}})
	must(t, err)
	if !slices.Equal(added, []bool{false}) {
		t.Fatalf("second admit: %v", added)
	}
	if s := state(t, f, u); s != crawler.Pending {
		t.Fatalf("state %v, want pending", s)
	}
	hosts, err := f.Hosts(ctx, 10)
	must(t, err)
	if !slices.Equal(hosts, []string{host}) {
		t.Fatalf("hosts %q, want [%q]", hosts, host)
	}
	e, ok, err := f.Pop(ctx, host)
	must(t, err)
	if !ok || e.URL != u || e.Parent != host+"/" || e.Depth != 2 || e.Lease == 0 {
		t.Fatalf("pop = %+v, %v", e, ok)
	}
	if s := state(t, f, u); s != crawler.InFlight {
		t.Fatalf("state %v, want in flight", s)
	}
	if c := counts(t, f); c != [2]int{0, 1} {
		t.Fatalf("counts %v after pop, want [0 1]", c)
	}
	testRetryFinish(t, f, e)
}

// testRetryFinish retries the popped entry e, pops it again and fails it.
func testRetryFinish(t *testing.T, f crawler.Frontier, e crawler.Entry) {
	ctx := context.Background()
	u := e.URL
	e.Attempts, e.NotBefore = 1, 12345
	must(t, f.Retry(ctx, e))
	if c := counts(t, f); c != [2]int{1, 0} {
		t.Fatalf("counts %v after retry, want [1 0]", c)
	}
	e2, ok, err := f.Pop(ctx, host)
	must(t, err)
	if !ok || e2.URL != u || e2.Attempts != 1 || e2.NotBefore != 12345 || e2.Depth != 2 {
		t.Fatalf("retried entry came back as %+v", e2)
	}
	must(t, f.Finish(ctx, e2, crawler.Failed))
	if c := counts(t, f); c != [2]int{0, 0} {
		t.Fatalf("counts %v after finish", c)
	}
	if s := state(t, f, u); s != crawler.Failed {
		t.Fatalf("state %v, want failed", s)
	}
	if _, ok, err := f.Pop(ctx, host); err != nil || ok {
		t.Fatalf("pop from an empty queue: %v, %v", ok, err)
	}
	// A URL recorded without a pop (it failed on admission).
	must(t, f.Finish(ctx, crawler.Entry{URL: host + "/never"}, crawler.Failed))
	if s := state(t, f, host+"/never"); s != crawler.Failed {
		t.Fatalf("state %v of an entry finished unpopped, want failed", s)
	}
}

func testBatch(t *testing.T, f crawler.Frontier) {
	ctx := context.Background()
	batch := []crawler.Entry{
		{URL: host + "/1"}, {URL: "https://b.example:8443/1"}, {URL: host + "/1"}, {URL: host + "/2"},
	}
	added, err := f.Admit(ctx, batch)
	must(t, err)
	if want := []bool{true, true, false, true}; !slices.Equal(added, want) {
		t.Fatalf("added %v, want %v", added, want)
	}
	if c := counts(t, f); c != [2]int{3, 0} {
		t.Fatalf("counts %v, want [3 0]", c)
	}
	hosts, err := f.Hosts(ctx, 10)
	must(t, err)
	slices.Sort(hosts)
	if want := []string{host, "https://b.example:8443"}; !slices.Equal(hosts, want) {
		t.Fatalf("hosts %q, want %q", hosts, want)
	}
	if hosts, _ := f.Hosts(ctx, 1); len(hosts) != 1 {
		t.Fatalf("Hosts(1) gave %d hosts", len(hosts))
	}
	e, ok, err := f.Pop(ctx, "https://b.example:8443")
	must(t, err)
	if !ok || e.URL != "https://b.example:8443/1" {
		t.Fatalf("pop of the second host: %+v, %v", e, ok)
	}
}

func testFIFO(t *testing.T, f crawler.Frontier) {
	ctx := context.Background()
	var batch []crawler.Entry
	for i := range 300 {
		batch = append(batch, crawler.Entry{URL: fmt.Sprintf("%s/p/%d", host, i), Depth: i % 5})
	}
	_, err := f.Admit(ctx, batch)
	must(t, err)
	for i := range 300 {
		e, ok, err := f.Pop(ctx, host)
		must(t, err)
		if !ok || e.URL != batch[i].URL || e.Depth != batch[i].Depth {
			t.Fatalf("pop %d: %+v, %v; want %s", i, e, ok, batch[i].URL)
		}
		must(t, f.Finish(ctx, e, crawler.Done))
	}
	if c := counts(t, f); c != [2]int{0, 0} {
		t.Fatalf("counts %v at the end", c)
	}
}

func testStaleLease(t *testing.T, f crawler.Frontier) {
	ctx := context.Background()
	u := host + "/lease"
	_, err := f.Admit(ctx, []crawler.Entry{{URL: u}})
	must(t, err)
	old, _, err := f.Pop(ctx, host)
	must(t, err)
	must(t, f.Retry(ctx, old))
	cur, ok, err := f.Pop(ctx, host)
	must(t, err)
	if !ok || cur.Lease == old.Lease {
		t.Fatalf("second hand-out kept the lease %d", old.Lease)
	}
	if err := f.Finish(ctx, old, crawler.Done); !errors.Is(err, crawler.ErrLeaseLost) {
		t.Fatalf("finish with a stale lease: %v, want ErrLeaseLost", err)
	}
	if err := f.Retry(ctx, old); !errors.Is(err, crawler.ErrLeaseLost) {
		t.Fatalf("retry with a stale lease: %v, want ErrLeaseLost", err)
	}
	if s := state(t, f, u); s != crawler.InFlight {
		t.Fatalf("state %v after stale answers, want in flight", s)
	}
	if c := counts(t, f); c != [2]int{0, 1} {
		t.Fatalf("counts %v after stale answers, want [0 1]", c)
	}
	must(t, f.Finish(ctx, cur, crawler.Done))
	if err := f.Finish(ctx, cur, crawler.Done); !errors.Is(err, crawler.ErrLeaseLost) {
		t.Fatalf("second finish: %v, want ErrLeaseLost", err)
	}
	if c := counts(t, f); c != [2]int{0, 0} {
		t.Fatalf("counts %v at the end", c)
	}
}

func testConcurrent(t *testing.T, f crawler.Frontier) {
	const workers, urls = 8, 200
	if news := admitConcurrently(t, f, workers, urls); news != urls {
		t.Fatalf("%d admissions reported new, want %d", news, urls)
	}
	if popped := popConcurrently(t, f, workers); popped != urls {
		t.Fatalf("%d URLs popped, want %d", popped, urls)
	}
	if c := counts(t, f); c != [2]int{0, 0} {
		t.Fatalf("counts %v at the end", c)
	}
}

// admitConcurrently admits overlapping batches of the same urls URLs from
// workers goroutines and returns how many admissions were reported new.
func admitConcurrently(t *testing.T, f crawler.Frontier, workers, urls int) int {
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	news := 0
	for w := range workers {
		wg.Go(func() {
			for i := 0; i < urls; i += 10 {
				batch := make([]crawler.Entry, 10)
				for k := range batch {
					batch[k] = crawler.Entry{URL: fmt.Sprintf("%s/c/%d", host, (i+k+w*7)%urls)}
				}
				added, err := f.Admit(ctx, batch)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				news += len(slices.DeleteFunc(added, func(a bool) bool { return !a }))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return news
}

// popConcurrently pops and finishes host's queue from workers goroutines,
// failing t on a URL popped twice, and returns how many URLs were popped.
func popConcurrently(t *testing.T, f crawler.Frontier, workers int) int {
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	popped := make(map[string]bool)
	for range workers {
		wg.Go(func() {
			for {
				e, ok, err := f.Pop(ctx, host)
				if err != nil {
					t.Error(err)
				}
				if err != nil || !ok {
					return
				}
				mu.Lock()
				dup := popped[e.URL]
				popped[e.URL] = true
				mu.Unlock()
				if dup {
					t.Errorf("%s popped twice", e.URL)
				}
				if err := f.Finish(ctx, e, crawler.Done); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	return len(popped)
}
