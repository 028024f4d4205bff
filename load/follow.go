// Following a distributed run: merged live seconds, dead workers, and
// the merged report.

package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redis/go-redis/v9"
)

// Worker states seen by a follower.
const (
	stateRunning = "running"
	stateDone    = "done"
	stateDead    = "dead"
)

// follower reads every worker's stream and merges it. It is used by one
// goroutine.
type follower struct {
	rdb       redis.UniversalClient
	k         keys
	n         int
	start     time.Time
	deadAfter time.Duration
	onSecond  func(Second)

	rows    [][]Second // per slot, everything streamed so far
	state   []string
	emitted int // merged seconds passed to onSecond
}

func newFollower(rdb redis.UniversalClient, k keys, n int, start time.Time, deadAfter time.Duration, onSecond func(Second)) *follower {
	return &follower{rdb: rdb, k: k, n: n, start: start, deadAfter: deadAfter, onSecond: onSecond,
		rows: make([][]Second, n), state: make([]string, n)}
}

// run follows until every worker is done or dead, then merges.
func (f *follower) run(ctx context.Context) (*Report, error) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var failing time.Time // since when the polls have failed
	for {
		err := f.poll(ctx)
		var bad *badSecondError
		switch {
		case err == nil:
			failing = time.Time{}
		case errors.As(err, &bad) || ctx.Err() != nil:
			return nil, err
		case failing.IsZero():
			failing = time.Now()
		case time.Since(failing) > storeFor:
			// Redis away: the workers keep their seconds for it as long.
			return nil, err
		}
		if err != nil {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-t.C:
			}
			continue
		}
		f.emit(false)
		if f.finished() {
			f.emit(true)
			return f.report(ctx)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// poll reads new rows and each worker's state.
func (f *follower) poll(ctx context.Context) error {
	pipe := f.rdb.Pipeline()
	ranges := make([]*redis.StringSliceCmd, f.n)
	reports := make([]*redis.IntCmd, f.n)
	beats := make([]*redis.IntCmd, f.n)
	for s := range f.n {
		ranges[s] = pipe.LRange(ctx, f.k.seconds(s), int64(len(f.rows[s])), -1)
		reports[s] = pipe.Exists(ctx, f.k.report(s))
		beats[s] = pipe.Exists(ctx, f.k.beat(s))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("load: distributed: %w", err)
	}
	for s := range f.n {
		for _, raw := range ranges[s].Val() {
			var row Second
			if err := json.Unmarshal([]byte(raw), &row); err != nil {
				return &badSecondError{slot: s, err: err}
			}
			f.rows[s] = append(f.rows[s], row)
		}
		switch {
		case reports[s].Val() > 0:
			f.state[s] = stateDone
		case beats[s].Val() == 0 && time.Since(f.start) > f.deadAfter:
			f.state[s] = stateDead
		default:
			f.state[s] = stateRunning
		}
	}
	return nil
}

// badSecondError is a second streamed that does not read: not worth
// polling again.
type badSecondError struct {
	slot int
	err  error
}

func (e *badSecondError) Error() string {
	return fmt.Sprintf("load: distributed: worker %d: bad second: %v", e.slot, e.err)
}

func (e *badSecondError) Unwrap() error { return e.err }

func (f *follower) finished() bool {
	for _, st := range f.state {
		if st == stateRunning {
			return false
		}
	}
	return true
}

// emit passes on each merged second that every running worker has
// streamed; with all set, every second any worker streamed.
func (f *follower) emit(all bool) {
	for {
		t, have := f.emitted, false
		for s := range f.n {
			switch {
			case t < len(f.rows[s]):
				have = true
			case f.state[s] == stateRunning && !all:
				return
			}
		}
		if !have {
			return
		}
		var parts []Second
		for s := range f.n {
			if t < len(f.rows[s]) {
				parts = append(parts, f.rows[s][t])
			}
		}
		if row, err := mergeRows(t, parts); err == nil && f.onSecond != nil {
			f.onSecond(row)
		}
		f.emitted++
	}
}

// mergeRows adds rows streamed for the same second.
func mergeRows(t int, rows []Second) (Second, error) {
	out := Second{T: t}
	h := hdr.New(histMin, histMax, histDigits)
	for _, r := range rows {
		out.addCounts(&r)
		if err := mergeEncoded(h, r.Hist); err != nil {
			return out, err
		}
	}
	setPercentiles(&out, h)
	return out, nil
}

// report merges the workers' reports, and what dead workers streamed.
func (f *follower) report(ctx context.Context) (*Report, error) {
	names, _ := f.rdb.HGetAll(ctx, f.k.names()).Result()
	var parts []*Report
	var states []WorkerState
	for s := range f.n {
		ws := WorkerState{Name: names[strconv.Itoa(s)], Slot: s, State: f.state[s], LastSecond: len(f.rows[s]) - 1}
		var rep *Report
		if f.state[s] == stateDone {
			rep = &Report{}
			if err := getJSON(ctx, f.rdb, f.k.report(s), rep); err != nil {
				return nil, err
			}
		} else {
			var err error
			if rep, err = partialReport(f.rows[s], f.start); err != nil {
				return nil, fmt.Errorf("load: distributed: worker %s: %w", ws.Name, err)
			}
		}
		ws.Requests = rep.Requests
		states = append(states, ws)
		parts = append(parts, rep)
	}
	m, err := Merge(parts...)
	if err != nil {
		return nil, wrap("load: distributed", err)
	}
	m.Workers = states
	return m, nil
}

// partialReport rebuilds what a dead worker streamed: counts and response
// times by second (no status codes, service times or bytes).
func partialReport(rows []Second, start time.Time) (*Report, error) {
	resp := hdr.New(histMin, histMax, histDigits)
	rep := &Report{Schema: SchemaVersion, Start: start, Seconds: rows, Duration: float64(len(rows))}
	planned := int64(0)
	for _, r := range rows {
		rep.Requests += r.Done
		rep.Success += r.OK
		rep.Failed += r.Errors
		rep.Dropped += r.Dropped
		planned += r.Target
		if err := mergeEncoded(resp, r.Hist); err != nil {
			return nil, err
		}
	}
	rep.Model = "closed"
	if planned > 0 {
		rep.Model = "open"
	}
	if rep.Duration > 0 {
		rep.RPS = math.Round(float64(rep.Requests)/rep.Duration*10) / 10
		rep.TargetRPS = math.Round(float64(planned)/rep.Duration*10) / 10
	}
	rep.Latency, rep.Spectrum = summarize(resp), spectrum(resp)
	rep.Histograms.Response = encodeHist(resp)
	return rep, nil
}
