// This file holds the frontier: the seen-set and the pending URLs of every
// host, behind the Frontier interface, with its in-memory implementation.

package crawler

import (
	"context"
	"encoding/binary"
	"sync"
)

// State is where a URL stands in a crawl. A URL moves Pending → InFlight →
// Done or Failed; a failed attempt that will be retried moves back to
// Pending.
type State uint8

// The states of a URL.
const (
	// Unseen is the state of a URL the frontier has never admitted.
	Unseen State = iota
	// Pending URLs are admitted and wait to be fetched.
	Pending
	// InFlight URLs have been handed to the scheduler for fetching.
	InFlight
	// Done URLs were fetched and recorded.
	Done
	// Failed URLs were given up on and recorded with an error.
	Failed
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case InFlight:
		return "in flight"
	case Done:
		return "done"
	case Failed:
		return "failed"
	}
	return "unseen"
}

// Entry is a pending URL: a compact record, not a request.
type Entry struct {
	// URL is the canonical URL.
	URL string
	// Parent is the canonical URL of the page that linked to URL, or ""
	// for a seed.
	Parent string
	// Depth is the number of links followed from a seed (seeds are 0).
	Depth int
	// Attempts is how many times URL has been fetched without success.
	Attempts int
	// Redirects is how many redirects led to URL.
	Redirects int
	// NotBefore, in Unix nanoseconds, is when URL may be fetched again
	// after a failed attempt; 0 means at once.
	NotBefore int64
}

// Frontier holds the seen-set and the pending URLs of a crawl, one queue
// per host, with each URL's state explicit. A host is named by its scheme
// and authority ("https://example.com:8443"). Several crawls, in one process
// or in many, may share a Frontier: each admits what it finds, pops from
// the hosts it schedules and learns of the others' hosts through Hosts, so
// every URL is fetched once by one of them; a crawl ends when Counts shows
// nothing pending or in flight anywhere.
//
// Implementations must be safe for concurrent use.
type Frontier interface {
	// Admit marks e.URL seen and queues e at the back of host's queue,
	// unless its fingerprint was already seen; it reports whether e was
	// new. The check and the mark are one atomic step.
	Admit(ctx context.Context, host string, e Entry) (bool, error)
	// Pop moves the entry at the front of host's queue to InFlight and
	// returns it; ok is false when the queue is empty.
	Pop(ctx context.Context, host string) (e Entry, ok bool, err error)
	// Retry puts an InFlight entry back at the back of host's queue as
	// Pending, with its Attempts and NotBefore updated by the caller.
	Retry(ctx context.Context, host string, e Entry) error
	// Finish moves a URL to Done or Failed.
	Finish(ctx context.Context, url string, s State) error
	// State returns the state of a URL.
	State(ctx context.Context, url string) (State, error)
	// Hosts returns up to n hosts whose queues hold pending URLs.
	Hosts(ctx context.Context, n int) ([]string, error)
	// Counts returns the number of URLs pending and in flight, for every
	// crawl sharing the frontier.
	Counts(ctx context.Context) (pending, inFlight int, err error)
}

// MemoryFrontier is a Frontier held in memory. Its seen-set keeps one
// 128-bit fingerprint and one state byte per URL; its queues keep each
// pending URL as a varint-encoded record in byte chunks, with the host left
// out and the parent written relative to the host, so a million pending URLs
// of a typical site take tens of megabytes and give the garbage collector no
// pointers to scan.
//
// The zero value is an empty frontier ready to use. A MemoryFrontier is
// safe for concurrent use.
type MemoryFrontier struct {
	mu       sync.Mutex
	seen     map[[16]byte]State
	queues   map[string]*entryQueue
	n        int // pending
	inFlight int
}

// Admit implements Frontier.
func (f *MemoryFrontier) Admit(_ context.Context, host string, e Entry) (bool, error) {
	fp := fingerprint(e.URL)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = make(map[[16]byte]State)
		f.queues = make(map[string]*entryQueue)
	}
	if _, ok := f.seen[fp]; ok {
		return false, nil
	}
	f.seen[fp] = Pending
	f.push(host, e)
	return true, nil
}

func (f *MemoryFrontier) push(host string, e Entry) {
	q := f.queues[host]
	if q == nil {
		q = &entryQueue{prefix: host}
		f.queues[host] = q
	}
	q.push(e)
	f.n++
}

// Pop implements Frontier.
func (f *MemoryFrontier) Pop(_ context.Context, host string) (Entry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queues[host]
	if q == nil || q.len == 0 {
		return Entry{}, false, nil
	}
	e := q.pop()
	if q.len == 0 {
		delete(f.queues, host)
	}
	f.n--
	f.inFlight++
	f.seen[fingerprint(e.URL)] = InFlight
	return e, true, nil
}

// Retry implements Frontier.
func (f *MemoryFrontier) Retry(_ context.Context, host string, e Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = make(map[[16]byte]State)
		f.queues = make(map[string]*entryQueue)
	}
	fp := fingerprint(e.URL)
	if f.seen[fp] == InFlight {
		f.inFlight--
	}
	f.seen[fp] = Pending
	f.push(host, e)
	return nil
}

// Finish implements Frontier.
func (f *MemoryFrontier) Finish(_ context.Context, url string, s State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = make(map[[16]byte]State)
	}
	fp := fingerprint(url)
	if f.seen[fp] == InFlight {
		f.inFlight--
	}
	f.seen[fp] = s
	return nil
}

// State implements Frontier.
func (f *MemoryFrontier) State(_ context.Context, url string) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[fingerprint(url)], nil
}

// Hosts implements Frontier.
func (f *MemoryFrontier) Hosts(_ context.Context, n int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hosts := make([]string, 0, min(n, len(f.queues)))
	for h := range f.queues {
		if len(hosts) == n {
			break
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// Counts implements Frontier.
func (f *MemoryFrontier) Counts(context.Context) (pending, inFlight int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.inFlight, nil
}

// Seen returns the number of URLs the frontier has admitted.
func (f *MemoryFrontier) Seen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

// chunkSize is the size of the byte chunks of an entryQueue: large enough
// that the slice headers are noise, small enough that an idle host's queue
// costs little.
const chunkSize = 4096

// entryQueue is a FIFO of entries encoded into byte chunks.
type entryQueue struct {
	prefix string   // the host, which most URLs start with; stripped when they do
	chunks [][]byte // written at the back, read from the front
	head   int      // read offset in chunks[0]
	len    int
	buf    []byte
}

func (q *entryQueue) push(e Entry) {
	b := q.buf[:0]
	b = binary.AppendUvarint(b, uint64(e.Depth))
	b = binary.AppendUvarint(b, uint64(e.Attempts))
	b = binary.AppendUvarint(b, uint64(e.Redirects))
	b = binary.AppendVarint(b, e.NotBefore)
	b = appendStripped(b, e.URL, q.prefix)
	b = appendStripped(b, e.Parent, q.prefix)
	q.buf = b
	last := len(q.chunks) - 1
	if last < 0 || len(q.chunks[last])+len(b) > cap(q.chunks[last]) {
		q.chunks = append(q.chunks, make([]byte, 0, max(chunkSize, len(b))))
		last++
	}
	q.chunks[last] = append(q.chunks[last], b...)
	q.len++
}

func (q *entryQueue) pop() Entry {
	c := q.chunks[0][q.head:]
	var e Entry
	var n int
	next := func() uint64 { v, k := binary.Uvarint(c[n:]); n += k; return v }
	e.Depth = int(next())
	e.Attempts = int(next())
	e.Redirects = int(next())
	v, k := binary.Varint(c[n:])
	e.NotBefore = v
	n += k
	e.URL, n = readStripped(c, n, q.prefix)
	e.Parent, n = readStripped(c, n, q.prefix)
	q.head += n
	q.len--
	if q.head == len(q.chunks[0]) {
		q.chunks[0] = nil
		q.chunks = q.chunks[1:]
		q.head = 0
	}
	return e
}

// appendStripped appends s, without prefix when it has it, marked by the
// low bit of the length.
func appendStripped(b []byte, s, prefix string) []byte {
	if prefix != "" && len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		s = s[len(prefix):]
		b = binary.AppendUvarint(b, uint64(len(s))<<1|1)
	} else {
		b = binary.AppendUvarint(b, uint64(len(s))<<1)
	}
	return append(b, s...)
}

func readStripped(c []byte, n int, prefix string) (string, int) {
	v, k := binary.Uvarint(c[n:])
	n += k
	l := int(v >> 1)
	s := string(c[n : n+l])
	if v&1 == 1 {
		s = prefix + s
	}
	return s, n + l
}
