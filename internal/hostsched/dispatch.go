// This file holds Dispatch: the step that starts every request that is due,
// and the ready heap it draws from.

package hostsched

import (
	"container/heap"
	"time"
)

// Dispatch calls start for due hosts, one request each time, while slots
// are free and the global rate allows, and returns when it should be
// called again if nothing else happens first (zero: not before a request
// ends or work arrives).
//
// start takes h's next item from the owner's source and, if it starts a
// request, calls Start (and Pace) and returns true. If it starts nothing
// it returns false, having called SetWork or Hold to say why.
//
// While several hosts have work, none may hold more than its share of the
// slots (the in-flight cap over the number of such hosts), so a host whose
// requests hang holds at most its share and the others go on. Slots that
// no host under its share can use now go to the hosts at their share, in
// turn.
func (s *Scheduler[T]) Dispatch(now time.Time, start func(*Host[T]) bool) (wake time.Time) {
	held := s.held[:0]
	limited := false
	for !s.Full() && len(s.ready) > 0 {
		h := s.ready[0]
		if h.next.After(now) {
			wake = h.next
			break
		}
		if hosts := len(s.ready) + len(held); hosts > 1 && h.inFlight >= max(1, s.maxInFlight/hosts) {
			heap.Pop(&s.ready)
			held = append(held, h)
			continue
		}
		started, ok := s.try(h, now, start, &wake)
		if limited = !ok; limited {
			break
		}
		if !started && h.index == 0 && !h.next.After(now) {
			// start neither started nor deferred h: leave it out of
			// this round rather than spin on it.
			heap.Pop(&s.ready)
			held = append(held, h)
		}
	}
	if !limited {
		s.shareOut(held, now, start, &wake)
	}
	for i, h := range held {
		s.fix(h)
		if h.index >= 0 && h.next.After(now) && (wake.IsZero() || h.next.Before(wake)) {
			wake = h.next
		}
		held[i] = nil
	}
	s.held = held[:0]
	return wake
}

// shareOut gives the slots left to the hosts held at their share, one
// request each in turn, while any of them can start.
func (s *Scheduler[T]) shareOut(held []*Host[T], now time.Time, start func(*Host[T]) bool, wake *time.Time) {
	for more := true; more && !s.Full(); {
		more = false
		for _, h := range held {
			if s.Full() || !h.work || h.inFlight >= s.perHost || h.next.After(now) {
				continue
			}
			started, ok := s.try(h, now, start, wake)
			if !ok {
				return
			}
			more = more || started
		}
	}
}

// try calls start for h under the global rate and reports whether it
// started a request. ok is false when the rate says wait; wake is then set
// to when a token is due. A token taken for a start that did not happen is
// given back.
func (s *Scheduler[T]) try(h *Host[T], now time.Time, start func(*Host[T]) bool, wake *time.Time) (started, ok bool) {
	tok, d := Take(s.global, now)
	if d > 0 {
		*wake = now.Add(d)
		return false, false
	}
	started = start(h)
	if !started && tok != nil {
		tok.CancelAt(now)
	}
	return started, true
}

// hostHeap orders hosts by their next start time.
type hostHeap[T any] []*Host[T]

func (q hostHeap[T]) Len() int           { return len(q) }
func (q hostHeap[T]) Less(i, j int) bool { return q[i].next.Before(q[j].next) }
func (q hostHeap[T]) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *hostHeap[T]) Push(x any) { h := x.(*Host[T]); h.index = len(*q); *q = append(*q, h) }
func (q *hostHeap[T]) Pop() any {
	old := *q
	h := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	h.index = -1
	return h
}
