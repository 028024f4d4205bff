package crawler

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/internal/redistest"
)

// TestRedisFrontierReconcileLostPop grants a lease the frontier never
// heard of, as when the client repeats a hand-out whose reply it lost: the
// next reconcile puts the URL back, so the crawl does not wait on it.
func TestRedisFrontierReconcileLostPop(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	f, err := NewRedisFrontier(srv.Client(t), "lost", RedisOptions{Worker: "w", PopBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The first heartbeat puts back what it finds lost: let it pass before
	// a hand-out is lost on purpose.
	for f.beats.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := f.Admit(ctx, []Entry{{URL: "http://a.example/1"}, {URL: "http://a.example/2"}}); err != nil {
		t.Fatal(err)
	}
	kept, _, err := f.Pop(ctx, "http://a.example")
	if err != nil {
		t.Fatal(err)
	}
	host := "http://a.example"
	keys := []string{f.key("n"), f.key("r"), f.key("t"), f.key("h"), f.key("l"), f.okey, f.key("q:" + host), f.key("w")}
	if err := popScript.Run(ctx, f.rdb, keys, host, f.worker, 0, 0, 1, 0, f.prefix, f.mask, f.ttl.Microseconds()).Err(); err != nil {
		t.Fatal(err)
	}
	if p, i, _ := f.Counts(ctx); p != 0 || i != 2 {
		t.Fatalf("counts %d, %d; want 0, 2", p, i)
	}
	f.lost.Store(true)
	f.reconcile(ctx)
	if p, i, _ := f.Counts(ctx); p != 1 || i != 1 {
		t.Fatalf("counts %d, %d after reconcile; want 1, 1", p, i)
	}
	if s, _ := f.State(ctx, "http://a.example/2"); s != Pending {
		t.Fatalf("lost URL is %v, want pending", s)
	}
	if err := f.Finish(ctx, kept, Done); err != nil {
		t.Fatalf("the lease held was taken back: %v", err)
	}
}

// TestRedisFinishWhenNothingHandedOut checks the finisher's linger: a
// finish waits for more while a URL handed out is unanswered, and goes at
// once when none is (every slot of the crawl waits for it).
func TestRedisFinishWhenNothingHandedOut(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	f, err := NewRedisFrontier(srv.Client(t), "linger", RedisOptions{Worker: "w", linger: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const host = "http://a.example"
	if _, err := f.Admit(ctx, []Entry{{URL: host + "/1"}, {URL: host + "/2"}, {URL: host + "/3"}}); err != nil {
		t.Fatal(err)
	}
	var popped []Entry
	for range 2 {
		e, ok, err := f.Pop(ctx, host)
		if err != nil || !ok {
			t.Fatalf("pop: %v %v", ok, err)
		}
		popped = append(popped, e)
	}
	// The third URL may wait in the frontier's buffer, leased, not handed
	// out. Another process's frontier looks at the states: f's own State
	// would send f's finishes first.
	other, err := NewRedisFrontier(srv.Client(t), "linger", RedisOptions{Worker: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	done := func() int {
		t.Helper()
		n := 0
		for _, e := range popped {
			if s, err := other.State(ctx, e.URL); err != nil {
				t.Fatal(err)
			} else if s == Done {
				n++
			}
		}
		return n
	}
	if err := f.Finish(ctx, popped[0], Done); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := done(); n != 0 {
		t.Fatalf("%d finishes sent while a URL handed out was unanswered and the linger ran", n)
	}
	if err := f.Finish(ctx, popped[1], Done); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for done() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 finishes sent once nothing handed out was unanswered", done())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dropBeats is a go-redis hook that fails every heartbeat script call
// before it reaches Redis, as for a process whose heartbeat has not run
// yet.
type dropBeats struct{}

var errBeatDropped = errors.New("heartbeat dropped")

func (dropBeats) DialHook(next redis.DialHook) redis.DialHook { return next }

func (dropBeats) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); len(args) > 1 {
			body, _ := args[1].(string)
			if body == heartbeatScript.Hash() || fmt.Sprintf("%x", sha1.Sum([]byte(body))) == heartbeatScript.Hash() {
				cmd.SetErr(errBeatDropped)
				return errBeatDropped
			}
		}
		return next(ctx, cmd)
	}
}

func (dropBeats) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRedisFrontierReapsWorkerBeforeItsFirstBeat: a process that took URLs
// and died before any heartbeat of its own reached Redis has them taken
// back by the others, like any dead process's.
func TestRedisFrontierReapsWorkerBeforeItsFirstBeat(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	const ttl = 200 * time.Millisecond
	deadClient := redis.NewClient(&redis.Options{Addr: srv.Addr})
	deadClient.AddHook(dropBeats{})
	dead, err := NewRedisFrontier(deadClient, "first", RedisOptions{Worker: "dead", LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	const u = "http://a.example/1"
	if _, err := dead.Admit(ctx, []Entry{{URL: u}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := dead.Pop(ctx, "http://a.example"); err != nil || !ok {
		t.Fatalf("pop: %v %v", ok, err)
	}
	if _, err := dead.Beat(ctx); !errors.Is(err, errBeatDropped) {
		t.Fatalf("beat: %v, want it dropped", err)
	}
	// The process dies: Close cannot put its URL back.
	_ = deadClient.Close()
	_ = dead.Close()
	live, err := NewRedisFrontier(srv.Client(t), "first", RedisOptions{Worker: "live", LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	// The live heartbeat reaps every LeaseTTL/3; 50 of them is a hang
	// guard, not a measure of speed.
	for live.beats.Load() < 50 {
		if s, err := live.State(ctx, u); err != nil {
			t.Fatal(err)
		} else if s == Pending {
			return
		}
		time.Sleep(ttl / 10)
	}
	t.Fatalf("the URL leased by a process that never beat stayed in flight through %d heartbeats of another", live.beats.Load())
}
