// The open model's arrival plan: when each request is due.

package load

import (
	"math"
	"time"
)

// schedule is a piecewise linear arrival rate. Request i (0-based) is due
// at the instant t where the expected count N(t) = ∫rate reaches i, so the
// plan is exact at any spacing and needs no per-request state: the
// dispatcher only remembers the next index.
type schedule struct {
	segs  []segment
	total int64         // requests in the whole plan: ceil(N(end))
	end   time.Duration // plan length
}

type segment struct {
	start, dur float64 // seconds
	r0, r1     float64 // rate at start and end of the segment
	c0, c1     float64 // N at start and end of the segment
}

// newSchedule builds the plan for stages, ramping from rate 0.
func newSchedule(stages []Stage) schedule {
	return newScheduleFrom(0, stages)
}

// constantSchedule is rate requests per second for d.
func constantSchedule(rate float64, d time.Duration) schedule {
	return newScheduleFrom(rate, []Stage{{Duration: d, Rate: rate}})
}

func newScheduleFrom(r0 float64, stages []Stage) schedule {
	var s schedule
	t, c := 0.0, 0.0
	for _, st := range stages {
		d := st.Duration.Seconds()
		if d <= 0 {
			continue
		}
		n := (r0 + st.Rate) / 2 * d
		s.segs = append(s.segs, segment{start: t, dur: d, r0: r0, r1: st.Rate, c0: c, c1: c + n})
		t += d
		c += n
		r0 = st.Rate
		s.end += st.Duration
	}
	s.total = int64(math.Ceil(c - 1e-9))
	return s
}

// at returns when request i is due, as an offset from the plan's start.
// i must be in [0, total).
func (s *schedule) at(i int64) time.Duration {
	x := float64(i)
	// Binary search for the segment with c0 <= x < c1; zero-rate segments
	// (c0 == c1) are never chosen because x < c1 fails.
	lo, hi := 0, len(s.segs)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if x < s.segs[mid].c1 {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	g := s.segs[lo]
	k := x - g.c0 // requests into this segment
	if k <= 0 {
		return secs(g.start)
	}
	// N(start+u) - c0 = r0*u + a*u², a = (r1-r0)/(2*dur). Solve for u with
	// the cancellation-free root 2k / (r0 + sqrt(r0² + 4ak)).
	a := (g.r1 - g.r0) / (2 * g.dur)
	disc := g.r0*g.r0 + 4*a*k
	if disc < 0 {
		disc = 0
	}
	den := g.r0 + math.Sqrt(disc)
	u := g.dur
	if den > 0 {
		u = min(2*k/den, g.dur)
	}
	return secs(g.start + u)
}

// count returns how many requests are due strictly before offset t. It
// searches with at, so the two always agree.
func (s *schedule) count(t time.Duration) int64 {
	if t <= 0 {
		return 0
	}
	lo, hi := int64(0), s.total // answer in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		if s.at(mid) < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func secs(f float64) time.Duration { return time.Duration(math.Round(f * 1e9)) }
