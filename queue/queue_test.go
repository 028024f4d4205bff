package queue_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/redistest"
	"github.com/sluicehq/sluice/queue"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func urls(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("http://a.example/%d", i)
	}
	return out
}

func TestWorkersTakeEachURLOnce(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	q := queue.New(srv.Client(t), "once")
	want := urls(1234)
	if err := q.Push(ctx, want...); err != nil {
		t.Fatal(err)
	}
	st, err := q.Stats(ctx)
	if err != nil || st.Queued != 1234 || st.Waiting != 1234 || st.Taken != 0 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			c := q.Consumer(fmt.Sprint("w", w), queue.ConsumerOptions{Count: 50, Block: 50 * time.Millisecond})
			for {
				msgs, err := c.Take(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if len(msgs) == 0 {
					if done, err := c.Drained(ctx); err != nil || done {
						return
					}
					continue
				}
				ids := make([]string, len(msgs))
				mu.Lock()
				for i, m := range msgs {
					got = append(got, m.URL)
					ids[i] = m.ID
				}
				mu.Unlock()
				if err := c.Ack(ctx, ids...); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("took %d URLs, want each of %d once", len(got), len(want))
	}
	st, err = q.Stats(ctx)
	if err != nil || st.Queued != 0 || st.Taken != 0 || len(st.Consumers) != 3 {
		t.Fatalf("stats at the end %+v, %v", st, err)
	}
}

func TestDeadWorkersURLsAreClaimed(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	// live's first Take must come within idle of dead's: on a machine too
	// slow for that, the setup is tried again with a longer idle.
	var (
		q          *queue.Queue
		dead, live *queue.Consumer
		first      []queue.Message
		idle       time.Duration
	)
	for idle = 200 * time.Millisecond; ; idle *= 2 {
		q = queue.New(rdb, fmt.Sprint("claim", idle.Milliseconds()))
		if err := q.Push(ctx, urls(10)...); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		dead = q.Consumer("dead", queue.ConsumerOptions{Count: 4, ClaimIdle: idle})
		held, err := dead.Take(ctx)
		if err != nil || len(held) != 4 {
			t.Fatalf("dead took %d, %v", len(held), err)
		}
		st, _ := q.Stats(ctx)
		if st.Taken != 4 || st.Waiting != 6 {
			t.Fatalf("stats %+v", st)
		}
		live = q.Consumer("live", queue.ConsumerOptions{Count: 100, ClaimIdle: idle, Block: 10 * time.Millisecond})
		first, err = live.Take(ctx)
		if time.Since(start) < idle {
			if err != nil || len(first) != 6 || first[0].Claimed {
				t.Fatalf("live took %d (%v) before the others were idle; want the 6 new", len(first), err)
			}
			break
		}
		if idle > 10*time.Second {
			t.Fatalf("two Takes took over %v", idle)
		}
	}
	if err := live.Ack(ctx, first[0].ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(idle + 50*time.Millisecond)
	claimed, err := live.Take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range claimed {
		if !m.Claimed {
			t.Errorf("%s not marked claimed", m.URL)
		}
		ids = append(ids, m.ID)
	}
	// Held by dead: its 4, and live's own 5 unacknowledged, idle as long.
	if len(claimed) != 9 {
		t.Fatalf("claimed %d, want 9", len(claimed))
	}
	if ok, err := dead.Leave(ctx); err != nil || !ok {
		t.Fatalf("dead holds nothing now, yet Leave = %v, %v", ok, err)
	}
	if ok, err := live.Leave(ctx); err != nil || ok {
		t.Fatalf("live holds 9, yet Leave = %v, %v", ok, err)
	}
	if err := live.Ack(ctx, ids...); err != nil {
		t.Fatal(err)
	}
	if done, err := live.Drained(ctx); err != nil || !done {
		t.Fatalf("drained = %v, %v", done, err)
	}
	st, _ := q.Stats(ctx)
	if len(st.Consumers) != 1 || st.Consumers[0].Name != "live" {
		t.Fatalf("consumers %+v", st.Consumers)
	}
}
