// This file holds the Fetcher's dispatcher: the one goroutine that keeps
// the per-host queues and starts each request when the Limiter admits it.

package sluice

import (
	"container/heap"
	"time"
)

// hostQueue is the line of requests for one host.
type hostQueue struct {
	host    string
	jobs    []*job
	next    time.Time // earliest time worth trying the head job
	index   int       // in the ready heap; -1 when not in it
	running int
	parked  bool // waiting for one of its running requests to end
}

// hostHeap orders the hosts that have jobs and are not parked by next.
type hostHeap []*hostQueue

func (h hostHeap) Len() int           { return len(h) }
func (h hostHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h hostHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *hostHeap) Push(x any) { q := x.(*hostQueue); q.index = len(*h); *h = append(*h, q) }
func (h *hostHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	q.index = -1
	return q
}

// retryHeap orders jobs waiting to be retried by retryAt.
type retryHeap []*job

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].retryAt.Before(h[j].retryAt) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(*job)) }
func (h *retryHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}

type dispatcher struct {
	f       *Fetcher
	hosts   map[string]*hostQueue
	ready   hostHeap
	retries retryHeap
	active  map[*job]struct{}
	pending int // queued in hosts or retries
	aborted bool
}

func (f *Fetcher) dispatch(maxPending int) {
	defer close(f.stopped)
	defer close(f.work)
	d := &dispatcher{f: f, hosts: make(map[string]*hostQueue), active: make(map[*job]struct{})}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	in, abort := f.in, f.abort
	for {
		now := time.Now()
		for len(d.retries) > 0 && !d.retries[0].retryAt.After(now) {
			j := heap.Pop(&d.retries).(*job)
			j.retryAt = time.Time{}
			d.pending--
			d.enqueue(j, now)
		}
		d.start(now)
		if in == nil && d.pending == 0 && len(d.active) == 0 {
			return
		}
		var wake time.Time
		if len(d.ready) > 0 {
			wake = d.ready[0].next
		}
		if len(d.retries) > 0 && (wake.IsZero() || d.retries[0].retryAt.Before(wake)) {
			wake = d.retries[0].retryAt
		}
		var tick <-chan time.Time
		if !wake.IsZero() && wake.After(now) {
			timer.Reset(wake.Sub(now))
			tick = timer.C
		}
		intake := in
		if d.pending >= maxPending {
			intake = nil // Submit blocks: backpressure
		}
		select {
		case j, ok := <-intake:
			if !ok {
				in = nil
				continue
			}
			if d.aborted {
				j.fail(ErrCancelled)
				continue
			}
			d.enqueue(j, now)
		case j := <-f.done:
			d.finish(j, time.Now())
		case <-tick:
		case <-abort:
			abort = nil
			d.abort()
		}
		timer.Stop()
	}
}

// enqueue puts j at the back of its host's line.
func (d *dispatcher) enqueue(j *job, now time.Time) {
	d.pending++
	q := d.hosts[j.host]
	if q == nil {
		q = &hostQueue{host: j.host, index: -1, next: now}
		d.hosts[j.host] = q
	}
	q.jobs = append(q.jobs, j)
	if q.index < 0 && !q.parked {
		heap.Push(&d.ready, q)
	}
}

// start starts every job the limiter admits now.
func (d *dispatcher) start(now time.Time) {
	for len(d.ready) > 0 && !d.ready[0].next.After(now) {
		q := d.ready[0]
		j := q.jobs[0]
		if j.fut.State() == Cancelled || j.fut.ctx.Err() != nil {
			d.dequeue(q)
			j.fail(j.fut.ctx.Err()) // no-op when already cancelled
			d.drop(q)
			continue
		}
		release, wait, hostBusy := d.f.lim.TryAcquire(q.host, now)
		if release == nil {
			switch {
			case wait > 0:
				q.next = now.Add(wait)
				heap.Fix(&d.ready, 0)
				continue
			case hostBusy:
				heap.Pop(&d.ready)
				q.parked = true
				continue
			}
			return // every slot is taken; a finishing job wakes us
		}
		d.dequeue(q)
		if j.attempts == 0 && !j.fut.state.CompareAndSwap(int32(Pending), int32(Running)) {
			release() // cancelled just now
			d.drop(q)
			continue
		}
		j.release = release
		q.running++
		d.active[j] = struct{}{}
		d.f.work <- j // never blocks: at most MaxInFlight jobs hold slots
		d.drop(q)
	}
}

// dequeue takes the head job off q's line.
func (d *dispatcher) dequeue(q *hostQueue) {
	q.jobs[0] = nil
	q.jobs = q.jobs[1:]
	d.pending--
	if len(q.jobs) == 0 && q.index >= 0 {
		heap.Remove(&d.ready, q.index)
	}
}

// drop forgets q once it has nothing queued or running.
func (d *dispatcher) drop(q *hostQueue) {
	if len(q.jobs) == 0 && q.running == 0 {
		delete(d.hosts, q.host)
	}
}

// finish handles a job whose attempt ended: it frees the slot and either
// schedules the retry or forgets the job.
func (d *dispatcher) finish(j *job, now time.Time) {
	j.release()
	j.release = nil
	delete(d.active, j)
	q := d.hosts[j.host]
	q.running--
	if q.parked {
		q.parked = false
		if len(q.jobs) > 0 {
			q.next = now
			heap.Push(&d.ready, q)
		}
	}
	if !j.retryAt.IsZero() {
		if d.aborted {
			j.fail(ErrCancelled)
		} else {
			d.pending++
			heap.Push(&d.retries, j)
		}
	}
	d.drop(q)
}

// abort cancels everything queued or waiting to retry and the contexts of
// running requests.
func (d *dispatcher) abort() {
	d.aborted = true
	for _, q := range d.hosts {
		for _, j := range q.jobs {
			j.fail(ErrCancelled)
		}
		d.pending -= len(q.jobs)
		q.jobs = nil
	}
	d.ready = d.ready[:0]
	for _, j := range d.retries {
		j.fail(ErrCancelled)
	}
	d.pending -= len(d.retries)
	d.retries = nil
	for j := range d.active {
		j.fut.ctx.cancel()
	}
	for h, q := range d.hosts {
		q.index, q.parked = -1, false
		if q.running == 0 {
			delete(d.hosts, h)
		}
	}
}
