// This file holds the frontier: the seen-set and the pending URLs of every
// host, behind the Frontier interface, with its in-memory implementation.

package crawler

import (
	"context"
	"encoding/binary"
	"errors"
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
	// InFlight URLs have been handed out by Pop, under a lease.
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

// ErrLeaseLost is returned by [Frontier.Retry] and [Frontier.Finish] when
// the entry's lease is no longer the frontier's current hand-out of its URL:
// the frontier took the URL back (a lease that expired, a crawl that died)
// and may have handed it to another crawl. The caller must not record the
// URL: whoever holds the current lease will.
var ErrLeaseLost = errors.New("crawler: lease lost")

// Entry is a pending URL: a compact record, not a request.
type Entry struct {
	// URL is the canonical URL.
	URL string
	// Host is the URL's host key, as [HostKey] returns it; "" means the
	// frontier computes it from URL.
	Host string
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
	// Lease identifies the hand-out of the entry by Pop: Retry and Finish
	// present it back, so that a frontier can tell an answer for a
	// hand-out it has since taken back. It is 0 in an entry never popped.
	Lease uint64
}

// HostKey returns the host key of a canonical URL: its scheme and authority
// ("https://example.com:8443"). Frontiers keep one queue per host key.
func HostKey(url string) string {
	origin, _ := splitURL(url)
	return origin
}

func (e *Entry) host() string {
	if e.Host == "" {
		return HostKey(e.URL)
	}
	return e.Host
}

// Frontier holds the seen-set and the pending URLs of a crawl, one queue
// per host key, with each URL's state explicit. Several crawls, in one
// process or in many, may share a Frontier: each admits what it finds, pops
// from the hosts it schedules and learns of the others' hosts through
// Hosts, so every URL is fetched once by one of them; a crawl ends when
// Counts shows nothing pending or in flight anywhere.
//
// A URL handed out by Pop is leased: the entry carries its Lease, and only
// a Retry or Finish presenting the current lease takes effect. A frontier
// that takes back the URLs of a crawl that died (a durable frontier opened
// again, a shared one whose worker stopped renewing) answers a late Retry
// or Finish of the old lease with [ErrLeaseLost], so no URL is recorded
// twice.
//
// Implementations must be safe for concurrent use.
type Frontier interface {
	// Admit marks the URLs of batch seen and queues each one not seen
	// before at the back of its host's queue, as one atomic step: a
	// page's links are taken in together or not at all, and a URL
	// repeated within batch is new only once. added[i] reports whether
	// batch[i] was new.
	Admit(ctx context.Context, batch []Entry) (added []bool, err error)
	// Pop moves the entry at the front of host's queue to InFlight under
	// a new lease and returns it; ok is false when the queue is empty.
	Pop(ctx context.Context, host string) (e Entry, ok bool, err error)
	// Retry puts a popped entry back at the back of its host's queue as
	// Pending, with its Attempts and NotBefore as the caller set them.
	// It returns ErrLeaseLost if e.Lease is not the current lease.
	Retry(ctx context.Context, e Entry) error
	// Finish moves a popped URL to Done or Failed. It returns
	// ErrLeaseLost if e.Lease is not the current lease. An entry with
	// Lease 0 (never popped: a URL that failed on admission) is recorded
	// as s unless it is in flight.
	Finish(ctx context.Context, e Entry, s State) error
	// State returns the state of a URL.
	State(ctx context.Context, url string) (State, error)
	// Hosts returns up to n host keys whose queues hold pending URLs.
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
// pointers to scan. Leases live only while a URL is in flight.
//
// The zero value is an empty frontier ready to use. A MemoryFrontier is
// safe for concurrent use.
type MemoryFrontier struct {
	mu     sync.Mutex
	seen   map[[16]byte]State
	leases map[[16]byte]uint64 // of the URLs in flight
	queues map[string]*entryQueue
	n      int // pending
	lease  uint64
}

func (f *MemoryFrontier) init() {
	if f.seen == nil {
		f.seen = make(map[[16]byte]State)
		f.leases = make(map[[16]byte]uint64)
		f.queues = make(map[string]*entryQueue)
	}
}

// Admit implements Frontier.
func (f *MemoryFrontier) Admit(_ context.Context, batch []Entry) ([]bool, error) {
	added := make([]bool, len(batch))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	for i := range batch {
		fp := fingerprint(batch[i].URL)
		if _, ok := f.seen[fp]; ok {
			continue
		}
		f.seen[fp] = Pending
		f.push(batch[i])
		added[i] = true
	}
	return added, nil
}

func (f *MemoryFrontier) push(e Entry) {
	host := e.host()
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
	e.Host = host
	if q.len == 0 {
		delete(f.queues, host)
	}
	f.n--
	f.lease++
	e.Lease = f.lease
	fp := fingerprint(e.URL)
	f.seen[fp] = InFlight
	f.leases[fp] = e.Lease
	return e, true, nil
}

// take ends the lease of e, if it is the current one.
func (f *MemoryFrontier) take(fp [16]byte, e *Entry) error {
	if f.seen[fp] != InFlight || f.leases[fp] != e.Lease {
		return ErrLeaseLost
	}
	delete(f.leases, fp)
	return nil
}

// Retry implements Frontier.
func (f *MemoryFrontier) Retry(_ context.Context, e Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	fp := fingerprint(e.URL)
	if err := f.take(fp, &e); err != nil {
		return err
	}
	f.seen[fp] = Pending
	e.Lease = 0
	f.push(e)
	return nil
}

// Finish implements Frontier.
func (f *MemoryFrontier) Finish(_ context.Context, e Entry, s State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	fp := fingerprint(e.URL)
	if e.Lease != 0 || f.seen[fp] == InFlight {
		if err := f.take(fp, &e); err != nil {
			return err
		}
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
	return f.n, len(f.leases), nil
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
	b := appendEntry(q.buf[:0], &e, q.prefix)
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
	e, n, _ := decodeEntry(q.chunks[0][q.head:], q.prefix) // written by push
	q.head += n
	q.len--
	if q.head == len(q.chunks[0]) {
		q.chunks[0] = nil
		q.chunks = q.chunks[1:]
		q.head = 0
	}
	return e
}

// appendEntry appends e in the one record format of the frontiers'
// queues: varints, then the URL and the parent without host when they
// start with it (the host is the queue's, so it is stored once).
func appendEntry(b []byte, e *Entry, host string) []byte {
	b = binary.AppendUvarint(b, uint64(e.Depth))
	b = binary.AppendUvarint(b, uint64(e.Attempts))
	b = binary.AppendUvarint(b, uint64(e.Redirects))
	b = binary.AppendVarint(b, e.NotBefore)
	b = appendStripped(b, e.URL, host)
	return appendStripped(b, e.Parent, host)
}

// errCorruptEntry is the error of a queue record that does not decode.
var errCorruptEntry = errors.New("crawler: corrupt queue record")

// decodeEntry decodes the record appendEntry wrote at the start of c and
// returns it (Host and Lease unset) with its length.
func decodeEntry(c []byte, host string) (e Entry, n int, err error) {
	defer func() {
		if recover() != nil {
			e, n, err = Entry{}, 0, errCorruptEntry
		}
	}()
	next := func() uint64 {
		v, k := binary.Uvarint(c[n:])
		if k <= 0 {
			panic(errCorruptEntry)
		}
		n += k
		return v
	}
	e.Depth, e.Attempts, e.Redirects = int(next()), int(next()), int(next())
	v, k := binary.Varint(c[n:])
	if k <= 0 {
		return Entry{}, 0, errCorruptEntry
	}
	e.NotBefore, n = v, n+k
	e.URL, n = readStripped(c, n, host)
	e.Parent, n = readStripped(c, n, host)
	return e, n, nil
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
