package load

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/internal/redistest"
)

func TestShareOf(t *testing.T) {
	base := Config{Targets: []Target{{URL: "http://x/"}}, Rate: 1000, MaxInFlight: 5, DropAbove: 7,
		Stages: []Stage{{Duration: time.Second, Rate: 300}}}
	for _, tc := range []struct {
		slot, n       int
		rate, stage   float64
		conns, flight int
	}{
		{0, 1, 1000, 300, 7, 7},
		{0, 2, 500, 150, 4, 4},
		{1, 2, 500, 150, 3, 3},
		{2, 3, 1000.0 / 3, 100, 2, 2},
		{9, 10, 100, 30, 1, 1},
	} {
		got := shareOf(base, tc.slot, tc.n)
		if got.Rate != tc.rate || got.Stages[0].Rate != tc.stage || got.MaxInFlight != tc.conns || got.DropAbove != tc.flight {
			t.Errorf("slot %d of %d: rate %v stage %v conns %d in-flight %d; want %v %v %d %d",
				tc.slot, tc.n, got.Rate, got.Stages[0].Rate, got.MaxInFlight, got.DropAbove, tc.rate, tc.stage, tc.conns, tc.flight)
		}
	}
	if base.Stages[0].Rate != 300 {
		t.Fatal("shareOf changed its argument's stages")
	}
	closed := Config{Targets: base.Targets, Requests: 10, MaxInFlight: 4}
	var sum int64
	for s := range 3 {
		sum += shareOf(closed, s, 3).Requests
	}
	if sum != 10 {
		t.Fatalf("request shares add to %d, want 10", sum)
	}
}

func TestDistributedTwoWorkers(t *testing.T) {
	addr := startRedis(t)
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	cfg := Config{Targets: []Target{{URL: srv.URL}}, Rate: 400, Duration: 3 * time.Second, MaxInFlight: 32}
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		reps    [2]*Report
		errs    [2]error
		live    []Second
		watched *Report
		werr    error
	)
	wg.Go(func() { watched, werr = Watch(ctx, newRedis(t, addr), "two", 0, nil) })
	for i, name := range []string{"a", "b"} {
		d := Distributed{Run: "two", Workers: 2, Name: name}
		if i == 0 {
			d.OnSecond = func(s Second) { live = append(live, s) }
		}
		wg.Go(func() { reps[i], errs[i] = RunDistributed(ctx, newRedis(t, addr), d, cfg) })
		time.Sleep(200 * time.Millisecond) // b arrives late: the barrier waits
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || werr != nil {
		t.Fatal(errs, werr)
	}
	m := reps[0]
	var buf bytes.Buffer
	_ = m.WriteText(&buf)
	t.Log(buf.String())
	if len(m.Workers) != 2 || m.Workers[0].State != "done" || m.Workers[1].State != "done" {
		t.Fatalf("workers %+v", m.Workers)
	}
	// Every request of the plan (400 a second for 3 s) is accounted for:
	// sent, or dropped at the in-flight cap when a starved machine answers
	// slowly (608 of 1,200 with four packages' tests on one core), or cut
	// off at the end.
	if sum := m.Workers[0].Requests + m.Workers[1].Requests; m.Requests != sum || m.Requests+m.Dropped+m.Cancelled != 1200 ||
		m.Workers[0].Requests == 0 || m.Workers[1].Requests == 0 {
		t.Fatalf("merged %d requests, %d dropped, %d cancelled, workers %d (%d + %d); want a sum of 1200 from both",
			m.Requests, m.Dropped, m.Cancelled, sum, m.Workers[0].Requests, m.Workers[1].Requests)
	}
	if reps[1].Requests != m.Requests || watched.Requests != m.Requests || watched.Latency != m.Latency {
		t.Fatalf("worker b saw %d requests, the watcher %d, worker a %d", reps[1].Requests, watched.Requests, m.Requests)
	}
	if len(live) < 3 {
		t.Fatalf("%d live seconds", len(live))
	}
	// Each worker plans 200 a second; the merged live rows add the plans
	// and account for every request sent, answered or cut off in flight
	// at the end (Report.Cancelled), as TestOpenSendsThePlan counts them.
	// (How closely sends follow the plan is bench/load/distributed.sh's
	// question, not a unit test's.)
	var sent int64
	for i, s := range live {
		sent += s.Sent
		if i >= 1 && i <= 2 && s.Target != 400 {
			t.Errorf("live second %d plans %d, want 400", s.T, s.Target)
		}
	}
	if sent != m.Requests+m.Cancelled {
		t.Errorf("live rows sent %d, the report has %d requests and %d cancelled", sent, m.Requests, m.Cancelled)
	}
}

func TestDistributedRefusesMismatch(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	target := []Target{{URL: "http://127.0.0.1:1/"}}
	first := make(chan error, 1)
	go func() {
		_, err := RunDistributed(ctx, newRedis(t, addr), Distributed{Run: "mm", Workers: 2, Name: "a", BarrierTimeout: 2 * time.Second},
			Config{Targets: target, Rate: 100, Duration: time.Second})
		first <- err
	}()
	waitKey(t, newRedis(t, addr), runKeys("mm").config()) // a sets the run's flags
	_, err := RunDistributed(ctx, newRedis(t, addr), Distributed{Run: "mm", Workers: 2, Name: "b"},
		Config{Targets: target, Rate: 200, Duration: time.Second, MaxInFlight: 50})
	if err == nil || !strings.Contains(err.Error(), "rate 200 here, 100 in the run") || strings.Contains(err.Error(), "connections") {
		t.Fatalf("second worker: %v", err)
	}
	err = <-first
	if err == nil || !strings.Contains(err.Error(), "1 of 2 workers arrived") || !strings.Contains(err.Error(), "b: rate 200 here") {
		t.Fatalf("first worker: %v", err)
	}
}

// TestDistributedDeadWorker kills one of two workers, a child process,
// with SIGKILL mid-run: the survivor's report names it and says its share
// is missing.
func TestDistributedDeadWorker(t *testing.T) {
	if addr := os.Getenv("SLUICE_LOAD_TEST_WORKER"); addr != "" {
		doomedWorker(addr, os.Getenv("SLUICE_LOAD_TEST_TARGET"))
		return
	}
	addr := startRedis(t)
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	child := exec.Command(os.Args[0], "-test.run=^TestDistributedDeadWorker$")
	child.Env = append(os.Environ(), "SLUICE_LOAD_TEST_WORKER="+addr, "SLUICE_LOAD_TEST_TARGET="+srv.URL)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		// Killed once it has streamed two seconds of load, however long
		// it took to start: a fixed 2.5 s could end it before it joined.
		rdb := redisClient(addr)
		defer rdb.Close()
		k := runKeys("dead")
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			names, _ := rdb.HGetAll(context.Background(), k.names()).Result()
			slot := slices.IndexFunc([]string{names["0"], names["1"]}, func(n string) bool { return n == "doomed" })
			if slot >= 0 && rdb.LLen(context.Background(), k.seconds(slot)).Val() >= 2 {
				break
			}
		}
		_ = child.Process.Signal(syscall.SIGKILL)
	}()
	rep, err := RunDistributed(context.Background(), newRedis(t, addr), deadRun("survivor"), deadCfg(srv.URL))
	<-killed
	_ = child.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = rep.WriteText(&buf)
	t.Log(buf.String())
	var dead *WorkerState
	for i, w := range rep.Workers {
		if w.State == "dead" {
			dead = &rep.Workers[i]
		}
	}
	if len(rep.Workers) != 2 || dead == nil || dead.Name != "doomed" || dead.LastSecond < 0 || dead.LastSecond > 3 || dead.Requests < 100 {
		t.Fatalf("workers %+v", rep.Workers)
	}
	if !strings.Contains(buf.String(), "worker doomed stopped reporting after second") {
		t.Fatal("the text report does not say the share is missing")
	}
	buf.Reset()
	if err := rep.WriteHTML(&buf); err != nil || !strings.Contains(buf.String(), "doomed (dead") {
		t.Fatalf("the HTML report does not name the dead worker: %v", err)
	}
}

func deadRun(name string) Distributed {
	return Distributed{Run: "dead", Workers: 2, Name: name, DeadAfter: time.Second}
}

func deadCfg(url string) Config {
	return Config{Targets: []Target{{URL: url}}, Rate: 200, Duration: 5 * time.Second, MaxInFlight: 4}
}

// doomedWorker is the child process of TestDistributedDeadWorker.
func doomedWorker(addr, url string) {
	rdb := redisClient(addr)
	defer rdb.Close()
	_, _ = RunDistributed(context.Background(), rdb, deadRun("doomed"), deadCfg(url))
}

// TestDistributedSurvivesRedisOutage stops Redis for a moment mid-run: the
// worker keeps the seconds Redis could not take and streams them once it is
// back, and the run ends with its merged report, every request counted.
func TestDistributedSurvivesRedisOutage(t *testing.T) {
	rs := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		okHandler(w, r)
	}))
	defer srv.Close()
	cfg := Config{Targets: []Target{{URL: srv.URL}}, Rate: 200, Duration: 3 * time.Second, MaxInFlight: 8}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	restarted := make(chan error, 1)
	go func() {
		// The outage comes once the run has streamed its first second,
		// however slowly it started.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if rdb.LLen(context.Background(), runKeys("outage").seconds(0)).Val() >= 1 {
				break
			}
		}
		rs.Kill()
		time.Sleep(time.Second)
		restarted <- rs.TryRestart() // t.Fatal is for the test's own goroutine
	}()
	rep, err := RunDistributed(context.Background(), rdb, Distributed{Run: "outage", Workers: 1, Name: "a"}, cfg)
	if rerr := <-restarted; rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		t.Fatalf("a run through a 1 s Redis outage: %v", err)
	}
	// Every request of the plan is accounted for, and every one the server
	// saw is in the report (those cut off at the end it may or may not
	// have seen). A count of those sent near the plan held on a machine
	// fast enough to answer 200 a second on 8 connections, not on one
	// starved by other tests.
	if n := served.Load(); rep.Requests+rep.Dropped+rep.Cancelled != 600 || n < rep.Requests || n > rep.Requests+rep.Cancelled {
		t.Errorf("the merged report counts %d requests, %d dropped, %d cancelled; the server saw %d of 600",
			rep.Requests, rep.Dropped, rep.Cancelled, n)
	}
}
