// Running a load phase: the open-model dispatcher, the workers and the
// per-second clock.

package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Run sends load as cfg describes and returns the report. It returns an
// error only for a configuration that [Config.Validate] rejects; network
// failures are counted in the report by kind. When ctx is cancelled the
// run stops, in-flight requests are abandoned, and Run returns the report
// of what was measured so far with Interrupted set.
//
// The run ends when its duration (or its last stage) does: nothing is sent
// after that instant, requests still in flight are cancelled and counted
// in [Report.Cancelled], and in the open model requests due but not yet
// sent are counted in [Report.Dropped].
//
// Run starts MaxInFlight goroutines (plus a dispatcher and a clock) and
// they have all ended when it returns. Separate calls may run concurrently.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	eng, err := newEngine(&cfg)
	if err != nil {
		return nil, err
	}
	defer eng.close()
	// stopped is set before abort closes the connections, so a worker that
	// sees its request fail can tell an interruption from a server fault
	// even before its own context reports done.
	var stopped atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		stopped.Store(true)
		eng.abort()
	})
	defer stop()

	// Workers (and, with fasthttp, their connections) outlive the warmup so
	// the measured phase starts on warm connections.
	workers := make([]worker, cfg.maxInFlight())
	for i := range workers {
		workers[i] = eng.newWorker()
	}
	if cfg.Warmup > 0 {
		warmup(ctx, cfg, workers, &stopped)
	}
	tr := eng.tracker()
	opened0, reused0 := tr.opened.Load(), tr.reused.Load()
	in0, out0 := tr.bytesIn.Load(), tr.bytesOut.Load()
	p := runPhase(ctx, &cfg, workers, &stopped, eng.abort)
	rep := p.report(&cfg)
	rep.ConnsOpened = tr.opened.Load() - opened0
	rep.ConnsReused = tr.reused.Load() - reused0
	rep.BytesRead = tr.bytesIn.Load() - in0
	rep.BytesWritten = tr.bytesOut.Load() - out0
	rep.Interrupted = ctx.Err() != nil
	rep.genLate = p.genLate.Load()
	return rep, nil
}

// newEngine picks the engine for cfg: fasthttp for plain HTTP/1.1, the
// HTTP/2 engine for --http2 with keep-alives, net/http otherwise.
func newEngine(cfg *Config) (engine, error) {
	switch {
	case useFast(cfg):
		return newFastEngine(cfg)
	case cfg.HTTP2 && !cfg.DisableKeepAlives:
		return newH2Engine(cfg)
	default:
		return newStdEngine(cfg), nil
	}
}

// warmup runs cfg's warmup phase on workers: cfg.Warmup long, at the
// first rate of an open model, with nothing counted.
func warmup(ctx context.Context, cfg Config, workers []worker, stopped *atomic.Bool) {
	wc := cfg
	wc.OnSecond, wc.Metrics = nil, nil
	wc.Requests = 0
	wc.Duration = cfg.Warmup
	if cfg.open() {
		wc.Rate = cfg.Rate
		if len(cfg.Stages) > 0 {
			wc.Rate = cfg.Stages[0].Rate
		}
		wc.Stages = nil
	}
	if !cfg.open() || wc.Rate > 0 {
		runPhase(ctx, &wc, workers, stopped, nil)
	}
}

// useFast reports whether every target can go through fasthttp.
func useFast(cfg *Config) bool {
	if cfg.HTTP2 {
		return false
	}
	for _, t := range cfg.Targets {
		if len(t.URL) < 7 || t.URL[:7] != "http://" {
			return false
		}
	}
	return true
}

// phase is one measured (or warmup) stretch of load.
type phase struct {
	rec      *recorder
	sched    *schedule
	start    time.Time
	bound    time.Duration // the phase's length when it is cut at its end; 0 for none
	elapsed  time.Duration
	notified int          // rows already passed to OnSecond; used by the clock goroutine, then by runPhase after it ends
	stopped  *atomic.Bool // set when the caller's context is done
	ended    atomic.Bool  // set when the phase reached its duration
	// genLate counts requests released more than genLateAfter after they
	// were due while a connection was free: the generator, not the
	// target, was behind.
	genLate atomic.Int64
}

// genLateAfter is how late a release with a free connection must be to
// count against the generator; the sleeper wakes well within it.
const genLateAfter = 10 * time.Millisecond

// runPhase runs one phase. With cut set, the phase ends at its duration:
// the workers' context ends then and cut closes what is in flight (a
// warmup, run without cut, lets its last requests finish so its
// connections stay warm).
func runPhase(ctx context.Context, cfg *Config, workers []worker, stopped *atomic.Bool, cut func()) *phase {
	p := newPhase(cfg, stopped)
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.start = time.Now()
	if d := cfg.duration(); cut != nil && d > 0 {
		p.bound = d
		p.rec.bound(d)
		var end context.CancelFunc
		ctx, end = context.WithDeadline(ctx, p.start.Add(d))
		defer end()
		stopCut := context.AfterFunc(ctx, func() {
			if parent.Err() == nil {
				p.ended.Store(true)
			}
			cut()
		})
		defer stopCut()
	}
	clockDone := make(chan struct{})
	go func() {
		defer close(clockDone)
		p.clock(ctx, cfg.OnSecond)
	}()

	p.runWorkers(ctx, parent, cfg, workers)
	if p.sched != nil && cut != nil {
		// A plan whose rate falls to 0 has its last request due before
		// its end; the run still lasts the plan, so that its rate is over
		// the time the plan asked for.
		<-ctx.Done()
	}
	p.elapsed = p.now() // a 10 s run at 100 req/s is 10.00 s at 100.0 req/s, not 10.001 s at 99.9
	cancel()
	<-clockDone
	p.closeRows(cfg.OnSecond)
	return p
}

// newPhase returns a phase with its plan (open model) and its recorder.
func newPhase(cfg *Config, stopped *atomic.Bool) *phase {
	p := &phase{stopped: stopped}
	if cfg.open() {
		var s schedule
		if len(cfg.Stages) > 0 {
			s = newSchedule(cfg.Stages)
		} else {
			s = constantSchedule(cfg.Rate, cfg.duration())
		}
		p.sched = &s
	}
	p.rec = newRecorder(len(cfg.Targets), p.sched)
	if cfg.Metrics != nil {
		p.rec.metrics = newRunMetrics(cfg.Metrics, cfg.Targets)
	}
	return p
}

// runWorkers runs the workers, fed by the dispatcher in the open model,
// and returns when all have ended.
func (p *phase) runWorkers(ctx, parent context.Context, cfg *Config, workers []worker) {
	var wg sync.WaitGroup
	if p.sched != nil {
		jobs := make(chan int64, len(workers))
		var inflight atomic.Int64
		for _, w := range workers {
			wg.Go(func() { p.openWorker(ctx, parent, cfg, w, jobs, &inflight) })
		}
		p.dispatch(ctx, parent, cfg.DropAbove, len(workers), jobs, &inflight)
	} else {
		var issued atomic.Int64
		for _, w := range workers {
			wg.Go(func() { p.closedWorker(ctx, cfg, w, &issued) })
		}
	}
	wg.Wait()
}

// closeRows closes the per-second rows up to the end of the phase and
// hands onSecond, if set, the rows the clock has not.
func (p *phase) closeRows(onSecond func(Second)) {
	p.rec.mu.Lock()
	end := int((p.elapsed + time.Second - 1) / time.Second)
	if p.rec.lastSec >= 0 {
		end = min(end, p.rec.lastSec+1)
	}
	p.rec.rollTo(end)
	p.rec.mu.Unlock()
	if onSecond != nil {
		for _, row := range p.rec.rowsSince(p.notified) {
			onSecond(row)
		}
	}
}

// dispatch releases every request that is due, by its index in the plan
// (which fixes its intended send offset and its target), then sleeps until
// the next one is due. It never sleeps per request: when it wakes late it
// releases the whole backlog at once, each request still carrying its own
// intended time. With dropAbove set, a request due while that many are
// outstanding is dropped and counted. Otherwise a full jobs channel blocks
// dispatch; the requests behind it are not lost, their intended times are
// recomputed from their index. Nothing is released after the plan ends:
// requests still unsent then are counted as dropped, unless the caller's
// context (parent) ended the run first.
func (p *phase) dispatch(ctx, parent context.Context, dropAbove, conns int, jobs chan<- int64, inflight *atomic.Int64) {
	defer close(jobs)
	sl := newSleeper(ctx)
	defer sl.close()
	cutoff := time.NewTimer(time.Until(p.start.Add(p.sched.end)))
	defer cutoff.Stop()
	next := int64(0)
	defer func() {
		if next < p.sched.total && parent.Err() == nil {
			p.rec.dropFrom(p.sched, next)
		}
	}()
	for next < p.sched.total {
		at := p.sched.at(next)
		now := time.Since(p.start)
		if now >= p.sched.end {
			return
		}
		if at > now {
			if !sl.sleep(ctx, at-now) {
				return
			}
			continue
		}
		if dropAbove > 0 {
			if inflight.Load() >= int64(dropAbove) {
				p.rec.drop(at)
				next++
				continue
			}
		}
		if now-at > genLateAfter && inflight.Load() < int64(conns) {
			p.genLate.Add(1)
		}
		inflight.Add(1)
		select {
		case jobs <- next:
			next++
		case <-ctx.Done():
			inflight.Add(-1)
			return
		case <-cutoff.C:
			inflight.Add(-1)
			return
		}
	}
}

// openWorker sends the requests jobs releases. One taken once ctx has
// ended is dropped and counted if the plan's end ended ctx: p.ended is set
// by a function that runs after ctx is done, so a job taken in between
// asks parent, which a caller's cancellation ends first.
func (p *phase) openWorker(ctx, parent context.Context, cfg *Config, w worker, jobs <-chan int64, inflight *atomic.Int64) {
	nt := int64(len(cfg.Targets))
	for i := range jobs {
		switch {
		case ctx.Err() == nil:
			p.send(ctx, w, int(i%nt), p.sched.at(i))
		case p.ended.Load() || parent.Err() == nil:
			p.rec.drop(p.sched.at(i)) // due, but the plan ended first
		}
		inflight.Add(-1)
	}
}

func (p *phase) closedWorker(ctx context.Context, cfg *Config, w worker, issued *atomic.Int64) {
	nt := int64(len(cfg.Targets))
	limit := cfg.Requests
	d := cfg.duration()
	for ctx.Err() == nil {
		i := issued.Add(1) - 1
		if limit > 0 && i >= limit {
			return
		}
		now := time.Since(p.start)
		if d > 0 && now >= d {
			return
		}
		p.send(ctx, w, int(i%nt), now)
	}
}

// send performs one request intended at offset at and records it.
func (p *phase) send(ctx context.Context, w worker, t int, at time.Duration) {
	now := time.Now()
	res := result{target: t, intended: at, sent: now.Sub(p.start)}
	if res.sent < at { // closed model: intended is "now"
		res.sent = at
	}
	p.rec.markSent(res.sent)
	res.status, res.err = w.do(ctx, t, now)
	if res.err != nil && p.interrupted(ctx) {
		p.rec.cancel(p.now() - at) // interrupted, not a server failure
		return
	}
	res.done = time.Since(p.start)
	p.rec.record(&res)
}

// now returns the offset of the present moment in the phase, up to its
// end when it has one: the moments taken to cut off what is in flight
// are no part of the run.
func (p *phase) now() time.Duration {
	t := time.Since(p.start)
	if p.bound > 0 {
		t = min(t, p.bound)
	}
	return t
}

// interrupted reports whether the run is being stopped. A context
// deadline counts from the instant it passes: a dial racing it fails with
// a timeout before ctx reports done.
func (p *phase) interrupted(ctx context.Context) bool {
	if ctx.Err() != nil || p.stopped.Load() {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// clock closes a row each second and hands it to onSecond.
func (p *phase) clock(ctx context.Context, onSecond func(Second)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.rec.advance(time.Since(p.start))
		if onSecond != nil {
			rows := p.rec.rowsSince(p.notified)
			p.notified += len(rows)
			for _, r := range rows {
				onSecond(r)
			}
		}
	}
}
