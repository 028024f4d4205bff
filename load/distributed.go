// Distributed runs: workers on several machines meet in Redis, share the
// load and merge their results.

package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults used when the matching [Distributed] field is zero.
const (
	DefaultBarrierTimeout = time.Minute
	DefaultDeadAfter      = 5 * time.Second
)

// keyTTL bounds how long a run's keys outlive it in Redis.
const keyTTL = 24 * time.Hour

// Distributed names one worker's place in a distributed run. Run and
// Workers are required and must be the same on every worker.
type Distributed struct {
	// Run names the run; its keys live under "sluice:load:RUN:". Use a
	// fresh name for each run: a run that already has its workers
	// refuses more.
	Run string
	// Workers is how many workers share the load.
	Workers int
	// Name identifies this worker in reports; "" means HOSTNAME:PID.
	Name string
	// BarrierTimeout bounds the wait for every worker to arrive. Zero
	// means DefaultBarrierTimeout.
	BarrierTimeout time.Duration
	// DeadAfter is how long a worker may go without a heartbeat (sent
	// twice a second) before it counts as dead. Zero means
	// DefaultDeadAfter.
	DeadAfter time.Duration
	// OnSecond, if non-nil, gets each merged second of the whole run, from
	// one goroutine, once every live worker has streamed it.
	OnSecond func(Second)
}

// WorkerState is one worker of a distributed run as the merged report
// sees it.
type WorkerState struct {
	Name  string `json:"name"`  // the worker's name (HOSTNAME:PID unless set)
	Slot  int    `json:"slot"`  // 0-based share index
	State string `json:"state"` // "done", or "dead": stopped reporting before the end
	// LastSecond is the last second the worker streamed (-1 for none);
	// for a dead worker, its share after that second is missing from the
	// report.
	LastSecond int   `json:"last_second"`
	Requests   int64 `json:"requests"` // requests the worker completed
}

// RunDistributed runs this worker's share of cfg as one of d.Workers
// workers meeting in Redis through rdb, and returns the merged report of
// the whole run.
//
// The workers first check that they were given the same configuration
// (the first to arrive sets it; a worker whose flags differ is refused
// with the differences named), then wait at a barrier until all have
// arrived, and start together at a wall-clock instant (keep the
// machines' clocks in sync, as NTP does). Each takes 1/Workers of the
// rate, of each stage's rate, of the request count, of the connections
// and of the in-flight cap, and streams its per-second rows (with their
// histograms) to Redis; at the end it stores its report and waits for
// the others. A worker that stops sending heartbeats for d.DeadAfter is
// named in the merged report as dead; what it streamed before dying is
// included (response times and counts only), its share after that is
// missing and the report says so.
//
// RunDistributed returns an error for an invalid configuration, a
// refusal at the barrier, or a Redis failure. When ctx is cancelled
// during the run it returns this worker's own report, marked interrupted.
// rdb is not closed.
func RunDistributed(ctx context.Context, rdb redis.UniversalClient, d Distributed, cfg Config) (*Report, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	k := runKeys(d.Run)
	slot, start, err := join(ctx, rdb, k, &d, &cfg)
	if err != nil {
		return nil, err
	}
	stopBeat := heartbeat(rdb, k, slot, d.deadAfter())
	defer stopBeat()

	f := newFollower(rdb, k, d.Workers, start, d.deadAfter(), d.OnSecond)
	followed := make(chan followResult, 1)
	fctx, cancelFollow := context.WithCancel(ctx)
	go func() {
		rep, err := f.run(fctx)
		followed <- followResult{rep, err}
	}()
	own, err := runAt(ctx, start, func() (*Report, error) { return runShare(ctx, rdb, k, slot, d.Workers, cfg) })
	stopBeat()
	if err != nil || ctx.Err() != nil {
		cancelFollow()
		<-followed
		return own, err
	}
	res := <-followed
	cancelFollow()
	return res.rep, res.err
}

// runAt calls fn at the instant start.
func runAt(ctx context.Context, start time.Time, fn func() (*Report, error)) (*Report, error) {
	if wait := time.Until(start); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return fn()
}

type followResult struct {
	rep *Report
	err error
}

// Watch follows the distributed run named run through rdb without taking
// part: it passes each merged second to onSecond (if non-nil) and returns
// the merged report once every worker has finished or died. It waits for
// the run to start.
func Watch(ctx context.Context, rdb redis.UniversalClient, run string, deadAfter time.Duration, onSecond func(Second)) (*Report, error) {
	if run == "" {
		return nil, errors.New("load: watch: no run name")
	}
	if deadAfter <= 0 {
		deadAfter = DefaultDeadAfter
	}
	k := runKeys(run)
	var flags sharedFlags
	start, err := waitStart(ctx, rdb, k, time.Duration(1<<62), &flags)
	if err != nil {
		return nil, err
	}
	return newFollower(rdb, k, flags.Workers, start, deadAfter, onSecond).run(ctx)
}

func (d *Distributed) validate() error {
	switch {
	case d.Run == "":
		return errors.New("load: distributed: no run name")
	case d.Workers < 1:
		return errors.New("load: distributed: workers must be at least 1")
	case d.BarrierTimeout < 0 || d.DeadAfter < 0:
		return errors.New("load: distributed: timeouts must not be negative")
	}
	if d.Name == "" {
		host, _ := os.Hostname()
		d.Name = host + ":" + strconv.Itoa(os.Getpid())
	}
	return nil
}

func (d *Distributed) deadAfter() time.Duration {
	if d.DeadAfter > 0 {
		return d.DeadAfter
	}
	return DefaultDeadAfter
}

func (d *Distributed) barrierTimeout() time.Duration {
	if d.BarrierTimeout > 0 {
		return d.BarrierTimeout
	}
	return DefaultBarrierTimeout
}

// keys names a run's Redis keys.
type keys string

func runKeys(run string) keys { return keys("sluice:load:" + run + ":") }

func (k keys) config() string  { return string(k) + "config" }
func (k keys) slots() string   { return string(k) + "slots" }
func (k keys) names() string   { return string(k) + "names" }
func (k keys) start() string   { return string(k) + "start" }
func (k keys) refused() string { return string(k) + "refused" }
func (k keys) seconds(slot int) string {
	return string(k) + "w:" + strconv.Itoa(slot) + ":seconds"
}
func (k keys) beat(slot int) string   { return string(k) + "w:" + strconv.Itoa(slot) + ":beat" }
func (k keys) report(slot int) string { return string(k) + "w:" + strconv.Itoa(slot) + ":report" }

// heartbeat refreshes slot's heartbeat twice a second until the returned
// function is called; that function may be called more than once and
// returns after the heartbeat goroutine has ended.
func heartbeat(rdb redis.UniversalClient, k keys, slot int, ttl time.Duration) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(min(500*time.Millisecond, ttl/2))
		defer t.Stop()
		for {
			rdb.Set(ctx, k.beat(slot), time.Now().UnixMilli(), ttl)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// runShare runs slot's share of cfg, streaming its seconds, and stores
// its report.
func runShare(ctx context.Context, rdb redis.UniversalClient, k keys, slot, n int, cfg Config) (*Report, error) {
	mine := shareOf(cfg, slot, n)
	// Seconds Redis did not take (it was away) wait here, in order, for
	// the next second's push: an outage delays the stream instead of
	// failing the run at its end.
	var unsent []any
	push := func(ctx context.Context) error {
		if len(unsent) == 0 {
			return nil
		}
		if err := rdb.RPush(ctx, k.seconds(slot), unsent...).Err(); err != nil {
			return err
		}
		unsent = unsent[:0]
		return rdb.Expire(ctx, k.seconds(slot), keyTTL).Err()
	}
	mine.OnSecond = func(s Second) {
		b, _ := json.Marshal(s)
		unsent = append(unsent, b)
		_ = push(ctx)
	}
	rep, err := Run(ctx, mine)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("load: distributed: %w", err)
	}
	// The seconds and the report are stored even when ctx is done, so the
	// others are not left to take this worker for dead.
	err = untilStored(context.WithoutCancel(ctx), func(ctx context.Context) error {
		if err := push(ctx); err != nil {
			return err
		}
		return rdb.Set(ctx, k.report(slot), b, keyTTL).Err()
	})
	if err != nil {
		return rep, fmt.Errorf("load: distributed: store report: %w", err)
	}
	return rep, nil
}

// storeFor is how long a worker tries to store its last seconds and its
// report while Redis is away.
const storeFor = 30 * time.Second

// untilStored runs store until it succeeds, trying again every half second
// for storeFor.
func untilStored(ctx context.Context, store func(context.Context) error) error {
	deadline := time.Now().Add(storeFor)
	for {
		err := store(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// shareOf returns slot's 1/n share of cfg: rate, stage rates, request
// count, connections and in-flight cap divided, remainders to the lowest
// slots.
func shareOf(cfg Config, slot, n int) Config {
	part := func(total int64) int64 {
		q, r := total/int64(n), total%int64(n)
		if int64(slot) < r {
			q++
		}
		return q
	}
	cfg.Rate /= float64(n)
	if len(cfg.Stages) > 0 {
		st := make([]Stage, len(cfg.Stages))
		for i, s := range cfg.Stages {
			st[i] = Stage{Duration: s.Duration, Rate: s.Rate / float64(n)}
		}
		cfg.Stages = st
	}
	if cfg.Requests > 0 {
		cfg.Requests = max(part(cfg.Requests), 1)
	}
	cfg.MaxInFlight = int(max(part(int64(cfg.maxInFlight())), 1))
	if cfg.DropAbove > 0 {
		cfg.DropAbove = int(max(part(int64(cfg.DropAbove)), 1))
	}
	return cfg
}
