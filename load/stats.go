// Recording results into histograms and per-second rows.

package load

import (
	"math"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sluicehq/sluice/internal/failure"
)

// Histogram range in microseconds: 1 µs to 1 hour at 3 significant
// digits; about 200 KB per histogram, whatever the run length.
const (
	histMin    = 1
	histMax    = int64(time.Hour / time.Microsecond)
	histDigits = 3
)

// lateAfter is how far behind its intended time a send must start to count
// as a late send in the report.
const lateAfter = time.Millisecond

// Second is one second of a run: what was planned, sent and answered in
// [T, T+1) seconds after measurement began. Latency figures are response
// times (from the intended send time) of the requests that completed in
// that second, in milliseconds.
type Second struct {
	T       int     `json:"t"`       // seconds since measurement began
	Target  int64   `json:"target"`  // requests planned (open model; 0 in the closed model)
	Sent    int64   `json:"sent"`    // requests sent
	Dropped int64   `json:"dropped"` // due and never sent (see Config.DropAbove)
	Done    int64   `json:"done"`    // requests completed (answered or failed)
	OK      int64   `json:"ok"`      // completed with a status below 400
	Errors  int64   `json:"errors"`  // completed without a response or with a status of 400 and above
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
	Hist    string  `json:"hist,omitempty"` // response times, as in [Histograms]
}

// addCounts adds r's counts to s, for a merge of the same second of
// several runs; the percentiles are the caller's to set.
func (s *Second) addCounts(r *Second) {
	s.Target += r.Target
	s.Sent += r.Sent
	s.Dropped += r.Dropped
	s.Done += r.Done
	s.OK += r.OK
	s.Errors += r.Errors
}

// result is one finished request. Offsets are from the phase start.
type result struct {
	target               int
	intended, sent, done time.Duration
	status               int
	err                  error
}

type targetStats struct {
	requests, ok, errors int64
	resp                 *hdr.Histogram
}

// recorder accumulates results. Safe for concurrent use; every method
// holds mu briefly and never blocks while holding it.
type recorder struct {
	mu    sync.Mutex
	open  bool
	sched *schedule // nil in the closed model

	resp, svc, late *hdr.Histogram
	iv              *hdr.Histogram // current second, by completion time
	ivSec           int
	lastSec         int // the last row of a run bounded in time, or -1
	ivDone, ivOK    int64
	ivErr           int64

	rows    []Second
	sent    []int64 // by second of actual send
	dropped []int64 // by second of intended send

	requests, ok, failed, lateSends, totalDropped, cancelled int64
	cancelledWait                                            time.Duration // the longest wait of a cancelled request
	status                                                   map[int]int64
	kinds                                                    [failure.NumKinds]int64
	samples                                                  [failure.NumKinds]string
	targets                                                  []targetStats
	metrics                                                  *runMetrics // nil without Config.Metrics
	pending                                                  []pendingHist
	spare                                                    *hdr.Histogram // an empty histogram for the next second
}

func newRecorder(nTargets int, sched *schedule) *recorder {
	r := &recorder{
		open:    sched != nil,
		sched:   sched,
		resp:    hdr.New(histMin, histMax, histDigits),
		svc:     hdr.New(histMin, histMax, histDigits),
		late:    hdr.New(histMin, histMax, histDigits),
		iv:      hdr.New(histMin, histMax, histDigits),
		status:  make(map[int]int64),
		lastSec: -1,
	}
	if nTargets > 1 {
		r.targets = make([]targetStats, nTargets)
		for i := range r.targets {
			r.targets[i].resp = hdr.New(histMin, histMax, 2)
		}
	}
	return r
}

func micros(d time.Duration) int64 {
	return max(int64(d/time.Microsecond), histMin)
}

func grow(s []int64, i int) []int64 {
	for len(s) <= i {
		s = append(s, 0)
	}
	return s
}

// markSent counts a send at offset t.
func (r *recorder) markSent(t time.Duration) {
	sec := r.second(t)
	r.mu.Lock()
	r.sent = grow(r.sent, sec)
	r.sent[sec]++
	r.mu.Unlock()
}

// drop counts a request that fell due at offset t and was dropped.
func (r *recorder) drop(t time.Duration) {
	sec := int(t / time.Second)
	r.mu.Lock()
	r.dropped = grow(r.dropped, sec)
	r.dropped[sec]++
	r.totalDropped++
	r.mu.Unlock()
}

// cancel counts a request cut off in flight by the end of the run after
// waiting for its answer this long, from its intended send time.
func (r *recorder) cancel(waited time.Duration) {
	r.mu.Lock()
	r.cancelled++
	r.cancelledWait = max(r.cancelledWait, waited)
	r.mu.Unlock()
}

// dropFrom counts requests from index from to the end of plan s as
// dropped, each in the second it was due.
func (r *recorder) dropFrom(s *schedule, from int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := from; i < s.total; {
		sec := int(s.at(i) / time.Second)
		end := max(s.count(time.Duration(sec+1)*time.Second), i+1)
		r.dropped = grow(r.dropped, sec)
		r.dropped[sec] += end - i
		r.totalDropped += end - i
		i = end
	}
}

func (r *recorder) record(res *result) {
	respTime := micros(res.done - res.intended)
	svcTime := micros(res.done - res.sent)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rollTo(r.second(res.done))
	r.requests++
	// A request that got no response says nothing of how fast the server
	// answers (a refused connect takes microseconds), so it is left out of
	// the latency figures; a timeout is kept, at the time it waited.
	timed := res.err == nil || classify(res.err) == failure.Timeout
	if timed {
		_ = r.resp.RecordValue(respTime)
		_ = r.svc.RecordValue(svcTime)
		_ = r.iv.RecordValue(respTime)
	}
	r.ivDone++
	if r.open {
		late := res.sent - res.intended
		_ = r.late.RecordValue(micros(late))
		if late > lateAfter {
			r.lateSends++
		}
	}
	ok := res.err == nil && res.status < 400
	k := -1
	if res.err != nil {
		k = int(classify(res.err))
		r.kinds[k]++
		if r.samples[k] == "" {
			r.samples[k] = res.err.Error()
		}
	} else {
		r.status[res.status]++
	}
	if r.metrics != nil {
		r.metrics.record(res, k, respTime, timed)
	}
	if ok {
		r.ok++
		r.ivOK++
	} else {
		r.failed++
		r.ivErr++
	}
	if r.targets != nil {
		ts := &r.targets[res.target]
		ts.requests++
		if ok {
			ts.ok++
		} else {
			ts.errors++
		}
		if timed {
			_ = ts.resp.RecordValue(respTime)
		}
	}
}

// advance closes the rows of every second that ended before offset t.
func (r *recorder) advance(t time.Duration) {
	r.mu.Lock()
	r.rollTo(r.second(t))
	r.mu.Unlock()
}

// bound ends the rows at the second in which a run of length d ends: the
// moments after it, taken to cut off what is in flight, are no second of
// the run, and an answer that comes in then counts in its last. It must be
// called before the run starts.
func (r *recorder) bound(d time.Duration) { r.lastSec = int((d - 1) / time.Second) }

// second returns the row of offset t. lastSec is set before the run
// starts and never changes, so it is read without mu.
func (r *recorder) second(t time.Duration) int {
	sec := int(t / time.Second)
	if r.lastSec >= 0 {
		sec = min(sec, r.lastSec)
	}
	return sec
}

// rollTo closes rows until the current second is sec. Caller holds mu.
func (r *recorder) rollTo(sec int) {
	for r.ivSec < sec {
		r.closeRow()
	}
}

func (r *recorder) closeRow() {
	s := r.ivSec
	row := Second{T: s, Done: r.ivDone, OK: r.ivOK, Errors: r.ivErr}
	rowPercentiles(&row, r.iv)
	if s < len(r.sent) {
		row.Sent = r.sent[s]
	}
	if s < len(r.dropped) {
		row.Dropped = r.dropped[s]
	}
	if r.sched != nil {
		row.Target = r.sched.count(time.Duration(s+1)*time.Second) - r.sched.count(time.Duration(s)*time.Second)
	}
	if r.metrics != nil {
		r.metrics.second(&row)
	}
	r.rows = append(r.rows, row)
	if r.iv.TotalCount() > 0 {
		// Encoding takes milliseconds (BenchmarkEncodeSecond): it is done
		// by flushHists, outside the lock every request takes.
		r.pending = append(r.pending, pendingHist{row: len(r.rows) - 1, h: r.iv})
		r.iv, r.spare = r.spare, nil
		if r.iv == nil {
			r.iv = hdr.New(histMin, histMax, histDigits)
		}
	}
	r.ivDone, r.ivOK, r.ivErr = 0, 0, 0
	r.ivSec++
}

// pendingHist is a closed second's histogram waiting to be encoded into
// its row.
type pendingHist struct {
	row int
	h   *hdr.Histogram
}

// flushHists encodes the histograms of closed rows into them. The caller
// must not hold mu; rows read after it returns carry their histograms.
func (r *recorder) flushHists() {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	enc := make([]string, len(pending))
	for i, p := range pending {
		enc[i] = encodeHist(p.h)
	}
	spare := pending[len(pending)-1].h
	spare.Reset()
	r.mu.Lock()
	for i, p := range pending {
		r.rows[p.row].Hist = enc[i]
	}
	if r.spare == nil {
		r.spare = spare
	}
	r.mu.Unlock()
}

// rowsSince returns a copy of the closed rows from index i on, with their
// histograms.
func (r *recorder) rowsSince(i int) []Second {
	r.flushHists()
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.rows) {
		return nil
	}
	return append([]Second(nil), r.rows[i:]...)
}

// ms converts microseconds to milliseconds.
func ms(us int64) float64 { return float64(us) / 1000 }

func roundMs(v float64) float64 { return math.Round(v*1000) / 1000 }
