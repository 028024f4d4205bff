// Package queue is a fetch work queue on a Redis Stream: producers push
// URLs, workers in any number of processes take them through one consumer
// group, acknowledge each once its record is written, and take over the
// URLs of a worker that died after they have been idle for a while.
//
// Delivery is at least once: a URL whose worker died after writing its
// record and before acknowledging it is fetched again by another.
package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// group is the consumer group every worker of a queue reads through.
const group = "sluice"

// field is the stream entry field holding the URL.
const field = "url"

// Queue is a fetch work queue named by the caller, kept in a Redis Stream
// with the key "sluice:{NAME}:queue" (the hash tag keeps it in one Cluster
// slot). Acknowledged entries are deleted from the stream, so its length is
// the URLs not yet done.
//
// Create one with [New]; the zero value is not usable. A Queue is safe for
// concurrent use; it holds no state but its names.
type Queue struct {
	rdb    redis.UniversalClient
	stream string
}

// New returns the queue named name in the Redis client talks to.
func New(client redis.UniversalClient, name string) *Queue {
	return &Queue{rdb: client, stream: "sluice:{" + name + "}:queue"}
}

// Stream returns the key of the queue's stream.
func (q *Queue) Stream() string { return q.stream }

// ensure creates the stream and its consumer group if they do not exist.
func (q *Queue) ensure(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.stream, group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("queue: create group: %w", err)
	}
	return nil
}

// pushBatch is how many XADDs go in one pipeline.
const pushBatch = 500

// Push appends urls to the queue, pipelined in batches of 500 XADDs.
func (q *Queue) Push(ctx context.Context, urls ...string) error {
	if err := q.ensure(ctx); err != nil {
		return err
	}
	for len(urls) > 0 {
		n := min(len(urls), pushBatch)
		_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, u := range urls[:n] {
				p.XAdd(ctx, &redis.XAddArgs{Stream: q.stream, Values: []string{field, u}})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("queue: push: %w", err)
		}
		urls = urls[n:]
	}
	return nil
}

// Stats are the counts of a queue at one moment.
type Stats struct {
	// Queued is the URLs pushed and not yet acknowledged.
	Queued int64
	// Waiting is the URLs no worker has taken yet.
	Waiting int64
	// Taken is the URLs taken by a worker and not yet acknowledged.
	Taken int64
	// Consumers are the workers that have taken URLs, with their counts.
	Consumers []ConsumerStats
}

// ConsumerStats are the counts of one worker.
type ConsumerStats struct {
	// Name is the worker's consumer name.
	Name string
	// Taken is the URLs it holds unacknowledged.
	Taken int64
	// Idle is the time since it last took or acknowledged a URL.
	Idle time.Duration
}

// ErrNoQueue is the error of [Queue.Stats] for a queue nothing was ever
// pushed to: most likely a mistyped name.
var ErrNoQueue = errors.New("queue: no such queue")

// Exists reports whether the queue is in Redis: whether anything was
// pushed to it (its stream stays once drained) or a worker waits on it.
func (q *Queue) Exists(ctx context.Context) (bool, error) {
	n, err := q.rdb.Exists(ctx, q.stream).Result()
	if err != nil {
		return false, fmt.Errorf("queue: %w", err)
	}
	return n == 1, nil
}

// Stats returns the queue's counts, or ErrNoQueue when it is not in
// Redis; it does not create it.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	ok, err := q.Exists(ctx)
	if err != nil {
		return Stats{}, err
	}
	if !ok {
		return Stats{}, ErrNoQueue
	}
	var st Stats
	n, err := q.rdb.XLen(ctx, q.stream).Result()
	if err != nil {
		return st, fmt.Errorf("queue: stats: %w", err)
	}
	st.Queued = n
	cs, err := q.rdb.XInfoConsumers(ctx, q.stream, group).Result()
	if err != nil {
		return st, fmt.Errorf("queue: stats: %w", err)
	}
	for _, c := range cs {
		st.Consumers = append(st.Consumers, ConsumerStats{Name: c.Name, Taken: c.Pending, Idle: c.Idle})
		st.Taken += c.Pending
	}
	st.Waiting = max(st.Queued-st.Taken, 0)
	return st, nil
}

// Message is a URL taken from the queue.
type Message struct {
	// ID is the stream entry's ID, which Ack takes.
	ID string
	// URL is the URL pushed.
	URL string
	// Claimed reports whether the URL was taken over from a worker that
	// held it for ClaimIdle without acknowledging it.
	Claimed bool
}

// ConsumerOptions configure a [Consumer]. The zero value is ready to use
// with the defaults given on each field.
type ConsumerOptions struct {
	// Count is the most URLs one Take returns; 0 means 100.
	Count int
	// Block is how long Take waits for new URLs when there are none; 0
	// means 1 second.
	Block time.Duration
	// ClaimIdle is how long a URL may stay taken and unacknowledged by a
	// worker that has stopped calling [Consumer.Renew] before another takes
	// it over; 0 means 1 minute. A live worker calls Renew more often than
	// ClaimIdle, so the URLs it holds stay its own however long they wait.
	ClaimIdle time.Duration
}

// Consumer takes URLs from a queue under one consumer name. Create one
// with [Queue.Consumer]; the zero value is not usable. Its methods are
// safe for concurrent use, but Take is meant to be called from one
// goroutine.
type Consumer struct {
	q      *Queue
	name   string
	opts   ConsumerOptions
	cursor chan string // the XAUTOCLAIM cursor, one slot

	mu   sync.Mutex
	held map[string]bool // IDs taken and not acknowledged, for Renew
}

// Consumer returns a consumer of the queue named name; two live workers
// must not share a name.
func (q *Queue) Consumer(name string, opts ConsumerOptions) *Consumer {
	if opts.Count <= 0 {
		opts.Count = 100
	}
	if opts.Block <= 0 {
		opts.Block = time.Second
	}
	if opts.ClaimIdle <= 0 {
		opts.ClaimIdle = time.Minute
	}
	c := &Consumer{q: q, name: name, opts: opts, cursor: make(chan string, 1), held: make(map[string]bool)}
	c.cursor <- "0-0"
	return c
}

// Take returns the next URLs for this consumer: first those other
// consumers have held unacknowledged for ClaimIdle, then new ones, waiting
// up to Block for them. It returns no message and no error when none came.
func (c *Consumer) Take(ctx context.Context) ([]Message, error) {
	if err := c.q.ensure(ctx); err != nil {
		return nil, err
	}
	msgs, err := c.claim(ctx)
	if err != nil || len(msgs) > 0 {
		return msgs, err
	}
	res, err := c.q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: c.name, Streams: []string{c.q.stream, ">"},
		Count: int64(c.opts.Count), Block: c.opts.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("queue: take: %w", err)
	}
	for _, s := range res {
		msgs = append(msgs, messages(s.Messages, false)...)
	}
	c.hold(msgs)
	return msgs, nil
}

func (c *Consumer) hold(msgs []Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		c.held[m.ID] = true
	}
}

// claim takes over entries idle for ClaimIdle, walking the pending list
// with the XAUTOCLAIM cursor.
func (c *Consumer) claim(ctx context.Context) ([]Message, error) {
	start := <-c.cursor
	xs, next, err := c.q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: c.q.stream, Group: group, Consumer: c.name,
		MinIdle: c.opts.ClaimIdle, Start: start, Count: int64(c.opts.Count),
	}).Result()
	if err != nil {
		c.cursor <- start
		return nil, fmt.Errorf("queue: claim: %w", err)
	}
	c.cursor <- next
	msgs := messages(xs, true)
	c.hold(msgs)
	return msgs, nil
}

// renewScript: KEYS stream; ARGV group, consumer, then IDs. It resets the
// idle time of each ID still pending under consumer, and leaves alone one
// another consumer has taken over (XCLAIM alone would take it back).
// Returns how many it renewed.
var renewScript = redis.NewScript(`
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
`)

// renewBatch is how many IDs one renewal script call takes.
const renewBatch = 1000

// Renew resets the idle time of the URLs this consumer has taken and not
// acknowledged, so that no other takes them over while they wait here for
// their turn; a worker calls it more often than ClaimIdle. The URLs another
// consumer took over meanwhile stay with it.
func (c *Consumer) Renew(ctx context.Context) error {
	c.mu.Lock()
	args := make([]any, 2, 2+len(c.held))
	args[0], args[1] = group, c.name
	for id := range c.held {
		args = append(args, id)
	}
	c.mu.Unlock()
	for len(args) > 2 {
		n := min(len(args)-2, renewBatch)
		batch := append(args[:2:2], args[2:2+n]...)
		if err := renewScript.Run(ctx, c.q.rdb, []string{c.q.stream}, batch...).Err(); err != nil {
			return fmt.Errorf("queue: renew: %w", err)
		}
		args = append(args[:2], args[2+n:]...)
	}
	return nil
}

func messages(xs []redis.XMessage, claimed bool) []Message {
	out := make([]Message, 0, len(xs))
	for _, x := range xs {
		u, _ := x.Values[field].(string)
		out = append(out, Message{ID: x.ID, URL: u, Claimed: claimed})
	}
	return out
}

// Ack acknowledges the messages of ids as done and deletes them from the
// stream, in one round trip.
func (c *Consumer) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := c.q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, c.q.stream, group, ids...)
		p.XDel(ctx, c.q.stream, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: ack: %w", err)
	}
	c.mu.Lock()
	for _, id := range ids {
		delete(c.held, id)
	}
	c.mu.Unlock()
	return nil
}

// Drained reports whether the queue holds no URL: none waiting and none
// taken by any worker.
func (c *Consumer) Drained(ctx context.Context) (bool, error) {
	n, err := c.q.rdb.XLen(ctx, c.q.stream).Result()
	if err != nil {
		return false, fmt.Errorf("queue: %w", err)
	}
	return n == 0, nil
}

// Leave removes the consumer from the group once it holds no URL, so Stats
// no longer lists it; it reports whether it did.
func (c *Consumer) Leave(ctx context.Context) (bool, error) {
	// XGROUP DELCONSUMER drops the consumer's unacknowledged entries
	// from the group for good: leave only without any.
	held, err := c.q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: c.q.stream, Group: group, Consumer: c.name, Start: "-", End: "+", Count: 1,
	}).Result()
	if err != nil {
		return false, fmt.Errorf("queue: leave: %w", err)
	}
	if len(held) > 0 {
		return false, nil
	}
	if err := c.q.rdb.XGroupDelConsumer(ctx, c.q.stream, group, c.name).Err(); err != nil {
		return false, fmt.Errorf("queue: leave: %w", err)
	}
	return true, nil
}
