// This file holds sluice fetch --queue: a worker that takes its URLs from a
// queue on Redis and acknowledges each once its record is written.

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/queue"
)

// fetchSource is where sluice fetch takes its URLs: the input lines, or a
// queue's consumer with --queue.
type fetchSource struct {
	client   *redis.Client
	consumer *queue.Consumer
	worker   string // names the records with --queue
	stop     func() // ends the renewal of the URLs held
}

// openSource opens the queue of --queue, if given.
func openSource(ctx context.Context, o *fetchOptions) (*fetchSource, error) {
	if o.queue == "" {
		return &fetchSource{}, nil
	}
	client, err := o.redis.client(ctx, "fetch")
	if err != nil {
		return nil, err
	}
	if !o.follow {
		// A worker that finds no queue would end at once, as on a
		// drained one: a mistyped --queue fetched nothing, exit 0.
		ok, err := queue.New(client, o.queue).Exists(ctx)
		if err == nil && !ok {
			err = usageErrorf("fetch: queue %q is not in Redis: push URLs to it first (sluice queue push), or wait for them with --follow", o.queue)
		}
		if err != nil {
			client.Close()
			return nil, err
		}
	}
	name := o.redis.name()
	c := queue.New(client, o.queue).Consumer(name, queue.ConsumerOptions{
		Count: max(o.http.concurrency, 10), ClaimIdle: o.claimIdle,
	})
	return &fetchSource{client: client, consumer: c, worker: name, stop: renewHeld(c, o.claimIdle/3)}, nil
}

// renewHeld renews the URLs c holds every period until the returned
// function is called, which returns once the renewal has ended. A worker
// takes URLs ahead of its fetches, and those waiting their turn for longer
// than --claim-idle were taken over by another worker, or by this one,
// and fetched twice.
func renewHeld(c *queue.Consumer, period time.Duration) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = c.Renew(ctx) // Take and Ack say when Redis is away
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// close leaves the consumer group when the worker holds no URL, so queue
// stats lists live workers only, and closes the client.
func (s *fetchSource) close() {
	if s.client == nil {
		return
	}
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = s.consumer.Leave(ctx)
	s.client.Close()
}

// readQueue sends the queue's URLs to out and closes it when the queue is
// drained (nothing waiting, nothing taken by any worker) or, with follow,
// when ctx ends. While Redis is unreachable it says so and tries again.
func readQueue(ctx context.Context, e *env, c *queue.Consumer, follow bool, out chan<- inputLine) {
	defer close(out)
	n := 0
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		msgs, err := c.Take(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fmt.Fprintf(e.stderr, "sluice: fetch: %v; retrying in %v\n", err, wait)
			sleepCtx(ctx, wait)
			wait = min(2*wait, 5*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		if len(msgs) == 0 {
			if done, err := c.Drained(ctx); !follow && err == nil && done {
				return
			}
			continue
		}
		for _, m := range msgs {
			n++
			select {
			case out <- inputLine{n: n, text: m.URL, id: m.ID}:
			case <-ctx.Done():
				return
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ackWritten acknowledges the queue messages of the records written and
// flushed, and returns acks emptied.
func ackWritten(ctx context.Context, e *env, src *fetchSource, acks []string) []string {
	if len(acks) == 0 || src.consumer == nil {
		return acks[:0]
	}
	// The records are written: their URLs must not be handed out again,
	// so the ack outlives an interrupt.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := src.consumer.Ack(actx, acks...)
		if err == nil || actx.Err() != nil {
			return acks[:0]
		}
		fmt.Fprintf(e.stderr, "sluice: fetch: %v; retrying in %v\n", err, wait)
		sleepCtx(actx, wait)
	}
}
