// This file holds the Fetcher's dispatcher: the one goroutine that keeps
// the per-host lines of requests and starts each one when the host
// scheduler (internal/hostsched) says its host may start.

package sluice

import (
	"container/heap"
	"context"
	"time"

	"github.com/sluicehq/sluice/internal/hostsched"
)

// line is the queue of requests for one host.
type line struct{ jobs []*job }

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
	hosts   *hostsched.Scheduler[*line]
	spacing time.Duration // between starts on one host, from HostRate
	retries retryHeap
	active  map[*job]struct{}
	pending int // queued in lines or retries
	aborted bool
	swept   time.Time
}

func (f *Fetcher) dispatch(maxPending int) {
	defer close(f.stopped)
	defer close(f.work)
	d := &dispatcher{f: f, active: make(map[*job]struct{}),
		hosts: hostsched.New[*line](f.maxInFlight(), f.PerHost, f.Rate), spacing: hostsched.Spacing(f.HostRate)}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	in, abort := f.in, f.abort
	for {
		now := time.Now()
		wake := d.step(now)
		if in == nil && d.pending == 0 && len(d.active) == 0 {
			return
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
			} else {
				d.take(j, now)
			}
		case j := <-f.done:
			d.finish(j)
		case <-f.kick:
			d.dropCancelled()
		case <-tick:
		case <-abort:
			abort = nil
			d.abort()
		}
		timer.Stop()
	}
}

// step moves due retries back to their lines, starts what the host
// scheduler admits and returns when to look again (zero: at an event).
func (d *dispatcher) step(now time.Time) (wake time.Time) {
	for len(d.retries) > 0 && !d.retries[0].retryAt.After(now) {
		j := heap.Pop(&d.retries).(*job)
		j.retryAt = time.Time{}
		d.pending--
		d.enqueue(j)
	}
	d.sweep(now)
	wake = d.hosts.Dispatch(now, func(h *hostsched.Host[*line]) bool { return d.start(h, now) })
	if len(d.retries) > 0 && (wake.IsZero() || d.retries[0].retryAt.Before(wake)) {
		wake = d.retries[0].retryAt
	}
	return wake
}

// take accepts a newly submitted job.
func (d *dispatcher) take(j *job, now time.Time) {
	if d.aborted {
		j.fail(ErrCancelled)
		return
	}
	d.enqueue(j)
}

// enqueue puts j at the back of its host's line.
func (d *dispatcher) enqueue(j *job) {
	d.pending++
	h, created := d.hosts.Host(j.host)
	if created {
		h.Val = &line{}
	}
	h.Val.jobs = append(h.Val.jobs, j)
	d.hosts.SetWork(h, true)
}

// start starts the first job of h's line not cancelled while it waited
// and reports whether it started one.
func (d *dispatcher) start(h *hostsched.Host[*line], now time.Time) bool {
	j := d.dequeueLive(h)
	if j == nil {
		d.drop(h)
		return false
	}
	if j.unwatch != nil {
		j.unwatch()
		j.unwatch = nil
	}
	d.hosts.Start(h)
	d.hosts.Pace(h, now, d.spacing)
	d.active[j] = struct{}{}
	d.f.work <- j // never blocks: at most MaxInFlight jobs hold slots
	return true
}

// dequeueLive takes jobs off the head of h's line until one that may
// start, failing and dropping those cancelled while they waited; nil when
// none is left. It drops them all at once: a start that returns false
// with work left makes Dispatch leave h until the next event, and none
// may come (three cancelled jobs in a line held Close for ever).
func (d *dispatcher) dequeueLive(h *hostsched.Host[*line]) *job {
	for len(h.Val.jobs) > 0 {
		j := d.dequeue(h)
		err := j.fut.taskContext().Err()
		if err == nil && (j.attempts > 0 || j.fut.start()) {
			return j
		}
		j.fail(err) // no-op when already cancelled
	}
	return nil
}

// dequeue takes the head job off h's line.
func (d *dispatcher) dequeue(h *hostsched.Host[*line]) *job {
	q := h.Val
	j := q.jobs[0]
	q.jobs[0] = nil
	q.jobs = q.jobs[1:]
	d.pending--
	d.hosts.SetWork(h, len(q.jobs) > 0)
	return j
}

// drop forgets h once it has nothing queued or running and needs no
// pacing remembered.
func (d *dispatcher) drop(h *hostsched.Host[*line]) {
	if len(h.Val.jobs) == 0 && h.InFlight() == 0 && !h.Next().After(time.Now()) {
		d.hosts.Forget(h)
	}
}

// sweep forgets, at most once a second, the hosts that drop kept for
// their pacing, so the state held is bounded by the hosts active recently.
func (d *dispatcher) sweep(now time.Time) {
	if now.Sub(d.swept) < time.Second {
		return
	}
	d.swept = now
	d.hosts.Each(d.drop)
}

// finish handles a job whose attempt ended: it frees the slot and either
// schedules the retry or forgets the job.
func (d *dispatcher) finish(j *job) {
	delete(d.active, j)
	h := d.hosts.Lookup(j.host)
	d.hosts.Done(h)
	if !j.retryAt.IsZero() {
		// A Retry-After holds the whole host, as in the crawler.
		d.hosts.Hold(h, j.holdTill)
		if d.aborted {
			j.fail(ErrCancelled)
		} else {
			d.pending++
			heap.Push(&d.retries, j)
			if j.unwatch == nil {
				// A Cancel (or the end of the request's context) while
				// the job waits must end it now, not at its retry.
				j.unwatch = context.AfterFunc(j.fut.taskContext(), d.f.kickDispatcher)
			}
		}
	}
	d.drop(h)
}

// dropCancelled fails and forgets the jobs waiting for a retry, in
// retries or in their host's line, whose context has ended: a Cancel of a
// fetch that waits out a Retry-After or its host's pacing completes it at
// once, and Close does not wait for it.
func (d *dispatcher) dropCancelled() {
	kept := d.retries[:0]
	for _, j := range d.retries {
		if err := j.fut.taskContext().Err(); err != nil {
			d.pending--
			j.fail(err)
			continue
		}
		kept = append(kept, j)
	}
	clear(d.retries[len(kept):])
	d.retries = kept
	heap.Init(&d.retries)
	d.hosts.Each(func(h *hostsched.Host[*line]) {
		jobs := h.Val.jobs[:0]
		for _, j := range h.Val.jobs {
			if err := j.fut.taskContext().Err(); err != nil {
				d.pending--
				j.fail(err)
				continue
			}
			jobs = append(jobs, j)
		}
		clear(h.Val.jobs[len(jobs):])
		h.Val.jobs = jobs
		d.hosts.SetWork(h, len(jobs) > 0)
		d.drop(h)
	})
}

// abort cancels everything queued or waiting to retry and the contexts of
// running requests.
func (d *dispatcher) abort() {
	d.aborted = true
	d.hosts.Each(func(h *hostsched.Host[*line]) {
		for _, j := range h.Val.jobs {
			j.fail(ErrCancelled)
		}
		d.pending -= len(h.Val.jobs)
		h.Val.jobs = nil
		d.hosts.SetWork(h, false)
	})
	for _, j := range d.retries {
		j.fail(ErrCancelled)
	}
	d.pending -= len(d.retries)
	d.retries = nil
	for j := range d.active {
		j.fut.cancelTask()
	}
}
