// This file holds the DiskFrontier's Frontier methods: admission into the
// seen-set and the host queues, leased hand-outs, retries and finishes.

package crawler

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble"
)

// windowSize is how many entries of a host's queue a Pop reads ahead at
// first; each read of the host's queue doubles it, up to maxWindow. A host
// popped a few times keeps a small window, and one crawled at length reads
// its queue with a quarter of the iterators (BenchmarkDiskFrontierPage,
// twelve runs alternating on a busy machine: 16.3 µs a page at best with
// 16 entries a read, 15.4 µs with the growing window; medians 19.0 and
// 18.5).
const (
	windowSize = 16
	maxWindow  = 64
)

// Admit implements Frontier: the new URLs of batch go to disk in one
// batch, which takes in those of later Admits until the frontier's next
// write of another kind (a commit, a Finish, a Pop that reads the queue,
// the group commit): a Pebble commit of its own for each page's links cost
// a log write and a wake-up of the log's writer a page
// (BenchmarkDiskFrontierPage, ten runs alternating: 14.1 µs a page at
// best with them, 12.8 µs without; medians 14.8 and 14.1). Until then the
// cache of URLs seen, which holds far more than maxAdmits, answers for
// them.
func (f *DiskFrontier) Admit(_ context.Context, batch []Entry) ([]bool, error) {
	added := make([]bool, len(batch))
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return nil, err
	}
	var counts hostCounts
	// A URL given twice in batch is in the cache of URLs seen once it is
	// taken in, so no set of the batch's URLs is needed, unless the batch
	// is so long that the cache might drop it before the batch is written.
	if !f.seenLoaded && len(batch) > 1 {
		if err := f.loadSeen(); err != nil {
			return nil, err
		}
	}
	var dup map[[16]byte]struct{}
	if len(batch) > seenCache/2 {
		dup = make(map[[16]byte]struct{}, len(batch))
	}
	for i := range batch {
		e := &batch[i]
		fp := fingerprint(e.URL)
		fresh, err := f.unseen(fp, dup)
		if err != nil {
			// Some of batch may be in the admissions: none is written.
			f.err = err
			return nil, err
		}
		if !fresh {
			continue
		}
		host := e.host()
		f.seq++
		start := len(f.admitBuf)
		f.admitBuf = appendEntry(f.admitBuf, e, host)
		f.admits = append(f.admits, admission{fp: fp, host: host, seq: f.seq, start: start, end: len(f.admitBuf)})
		counts.add(host)
		added[i] = true
	}
	f.countAdmitted(counts)
	if len(f.admits) >= maxAdmits {
		if err := f.flushAdmits(); err != nil {
			return nil, err
		}
	}
	return added, nil
}

// maxAdmits is how many admitted URLs wait, at most, for a write of
// another kind to take them to disk.
const maxAdmits = 4096

// admission is an admitted URL whose writes wait in memory (see Admit):
// its queue value is admitBuf[start:end].
type admission struct {
	fp         [16]byte
	host       string
	seq        uint64
	start, end int
}

// flushAdmits writes the admissions waiting, if any. The caller holds mu.
func (f *DiskFrontier) flushAdmits() error {
	if len(f.admits) == 0 {
		return f.usable()
	}
	return f.apply(f.takeAdmits(), false)
}

// takeAdmits returns a batch holding the admissions waiting, for the
// caller to add its own writes to and commit, or a new batch if none wait.
// The caller holds mu.
//
// The batch holds the admissions' state keys in key order, then their
// queue keys in key order: Pebble inserts a batch's keys into its
// memtable one after another, each search starting from where the last
// one ended, so keys in order take shorter searches than keys in the
// order the links came, which alternate between a state key anywhere in
// the table and a queue key at a host's end (a Pebble memtable of 8 MiB,
// batches of 400 such pairs: 0.80 µs a key as they came, 0.45 in order).
func (f *DiskFrontier) takeAdmits() *pebble.Batch {
	b := f.db.NewBatch()
	if len(f.admits) == 0 {
		return b
	}
	a := f.admits
	slices.SortFunc(a, func(x, y admission) int { return compareFP(x.fp, y.fp) })
	for i := range a {
		op := b.SetDeferred(1+len(a[i].fp), 1)
		op.Key[0] = kindState
		copy(op.Key[1:], a[i].fp[:])
		op.Value[0] = byte(Pending)
		_ = op.Finish()
	}
	slices.SortFunc(a, func(x, y admission) int { return compareQueueKeys(x.host, x.seq, y.host, y.seq) })
	for i := range a {
		f.keyBuf = appendQueueKey(f.keyBuf[:0], a[i].host, a[i].seq)
		_ = b.Set(f.keyBuf, f.admitBuf[a[i].start:a[i].end], nil)
	}
	clear(a) // their host strings
	f.admits, f.admitBuf = a[:0], f.admitBuf[:0]
	return b
}

// compareQueueKeys orders queue entries, by host and sequence number, as
// their queue keys are ordered.
func compareQueueKeys(xHost string, xSeq uint64, yHost string, ySeq uint64) int {
	if c := strings.Compare(xHost, yHost); c != 0 {
		return c
	}
	return cmp.Compare(xSeq, ySeq)
}

// compareFP orders fingerprints as their state keys are ordered.
func compareFP(x, y [16]byte) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(x[:8]), binary.BigEndian.Uint64(y[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(x[8:]), binary.BigEndian.Uint64(y[8:]))
}

// unseen reports whether fp is new to the frontier, and notes it seen:
// the cache of URLs seen and dup (URLs earlier in the batch, when not nil)
// answer first, then the store. The caller holds mu.
func (f *DiskFrontier) unseen(fp [16]byte, dup map[[16]byte]struct{}) (bool, error) {
	if f.seen.has(fp) {
		return false, nil
	}
	if dup != nil {
		if _, ok := dup[fp]; ok {
			return false, nil
		}
		dup[fp] = struct{}{}
	}
	if !f.seenAll {
		_, seen, err := f.get(stateKey(fp))
		if err != nil {
			return false, fmt.Errorf("crawler: state dir %s: %w", f.dir, err)
		}
		if seen {
			f.noteSeen(fp)
			return false, nil
		}
	}
	f.noteSeen(fp)
	return true, nil
}

// admittedCount implements durableFrontier: it returns the URLs the
// frontier has taken in, in this run and before: one state key each, but
// those of the URLs robots.txt denied (whose run gave their places back,
// as this one does), and those of the admissions waiting. It reads every
// state key; a crawl with MaxPages, the only one that asks, has about that
// many.
func (f *DiskFrontier) admittedCount(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return 0, err
	}
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindState}, UpperBound: []byte{kindState + 1}})
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	n := len(f.admits)
	for iter.First(); iter.Valid(); iter.Next() {
		if v := iter.Value(); len(v) == 0 || State(v[0]) != deniedState {
			n++
		}
	}
	if err := iter.Close(); err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	return n, nil
}

// countAdmitted counts an Admit's new URLs by host. The caller holds mu.
func (f *DiskFrontier) countAdmitted(counts hostCounts) {
	for _, c := range counts {
		f.addQueued(c.host, c.n)
	}
}

// addQueued counts n new queue keys of host, all pending, creating the
// host in memory if it is new. Neither the counts nor the sequence number
// are stored: rewriting such a key with every batch made Pebble's memtable
// the crawl's hottest code, and OpenDiskFrontier counts the queue keys
// instead. The caller holds mu.
func (f *DiskFrontier) addQueued(host string, n int) {
	h := f.hosts[host]
	if h == nil {
		h = &diskHost{}
		f.hosts[host] = h
	}
	h.keys += n
	h.pending += n
	f.pending += n
}

// hostCounts counts an Admit's new URLs by host: a page's links are on a
// few hosts, so a short list beats a map.
type hostCounts []hostCount

type hostCount struct {
	host string
	n    int
}

func (c *hostCounts) add(host string) {
	for i := range *c {
		if (*c)[i].host == host {
			(*c)[i].n++
			return
		}
	}
	*c = append(*c, hostCount{host, 1})
}

// seenCache is how many fingerprints each of the two generations of the
// cache of URLs seen holds: at most 2 × 131,072 × about 40 bytes, 10 MB,
// however large the crawl. Most links a page has were seen recently, and a
// Pebble lookup of each was the crawl's hottest code.
const seenCache = 1 << 17

// noteSeen adds fp to the cache of URLs seen; once that drops any, it no
// longer holds them all.
func (f *DiskFrontier) noteSeen(fp [16]byte) {
	if f.seen.add(fp) {
		f.seenAll = false
	}
}

// loadSeen reads the fingerprints of a store that has seen fewer URLs than
// the cache holds into the cache, and then sets seenAll: a URL the cache
// does not hold is new, without a lookup. (On bench/durable/throughput.sh,
// 20,000 pages with 10 links, the lookups of the new URLs took about 5%
// of the crawl's CPU.) A larger store is left to the lookups. The first
// Admit of more than one URL (a page's links) calls it; the seeds, one at a
// time, are looked up: a recrawl of a site that has not changed admits
// nothing else, and reads no URL for the cache.
func (f *DiskFrontier) loadSeen() error {
	f.seenLoaded = true
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindState}, UpperBound: []byte{kindState + 1}})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	var fps [][16]byte
	for iter.First(); iter.Valid() && len(fps) < seenCache; iter.Next() {
		var fp [16]byte
		copy(fp[:], iter.Key()[1:])
		fps = append(fps, fp)
	}
	all := !iter.Valid()
	if err := iter.Close(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	if all {
		for _, fp := range fps {
			f.noteSeen(fp)
		}
		f.seenAll = true
	}
	return nil
}

// Pop implements Frontier. The entry keeps its queue key until it is
// finished, so it is pending again if the process dies first.
func (f *DiskFrontier) Pop(_ context.Context, host string) (Entry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return Entry{}, false, err
	}
	h := f.hosts[host]
	if h == nil || h.pending == 0 {
		return Entry{}, false, nil
	}
	if len(h.window) == 0 {
		if err := f.fill(host, h); err != nil {
			return Entry{}, false, err
		}
		if len(h.window) == 0 {
			return Entry{}, false, fmt.Errorf("%w: %s: the queue of %s is shorter than its counter", ErrStateCorrupt, f.dir, host)
		}
	}
	q := h.window[0]
	h.window[0] = queued{}
	h.window = h.window[1:]
	h.pending--
	f.pending--
	f.lease++
	q.e.Lease = f.lease
	f.out[fingerprint(q.e.URL)] = &leased{e: q.e, seq: q.seq, prev: q.prev, was: q.was}
	return q.e, true, nil
}

// fill reads the next entries of host's queue past the last one read.
func (f *DiskFrontier) fill(host string, h *diskHost) error {
	if err := f.flushAdmits(); err != nil {
		return err
	}
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: queueKey(host, h.last+1), UpperBound: queueEnd(host)})
	if err != nil {
		return fmt.Errorf("crawler: state dir %s: %w", f.dir, err)
	}
	h.window = h.window[:0]
	n := min(windowSize<<h.fills, maxWindow)
	if n < maxWindow {
		h.fills++
	}
	for iter.First(); iter.Valid() && len(h.window) < n; iter.Next() {
		q, err := decodeQueued(iter.Value(), host)
		if err != nil {
			iter.Close()
			return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
		}
		q.seq = queueSeq(iter.Key())
		h.window = append(h.window, q)
		h.last = q.seq
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("crawler: state dir %s: %w", f.dir, err)
	}
	return nil
}

// decodeQueued decodes a queue value: an entry, and after it, when
// Recrawl queued it with them, the validators of an earlier pass and the
// state the URL has on disk.
func decodeQueued(val []byte, host string) (queued, error) {
	e, n, err := decodeEntry(val, host)
	if err != nil {
		return queued{}, err
	}
	e.Host = host
	q := queued{e: e}
	if n < len(val) {
		v, was, err := decodePrev(val[n:])
		if err != nil {
			return queued{}, err
		}
		q.prev, q.was = &v, was
	}
	return q, nil
}

// decodePrev decodes the validators appendQueued put after an entry, and
// the state after them (Unseen if there is none: a queue value written
// before states were queued).
func decodePrev(c []byte) (v Validators, was State, err error) {
	v, n, err := decodeValidators(c)
	if err != nil {
		return v, 0, err
	}
	if n < len(c) {
		was = State(c[n])
	}
	return v, was, nil
}

// appendQueued encodes a queue value: e, and prev and was if prev is not
// nil.
func appendQueued(b []byte, e *Entry, host string, prev *Validators, was State) []byte {
	b = appendEntry(b, e, host)
	if prev != nil {
		b = appendValidators(b, prev)
		b = append(b, byte(was))
	}
	return b
}

// take ends the current lease of e, returning its record.
func (f *DiskFrontier) take(fp [16]byte, e *Entry) (*leased, error) {
	l := f.out[fp]
	if l == nil || l.e.Lease != e.Lease {
		return nil, ErrLeaseLost
	}
	delete(f.out, fp)
	return l, nil
}

// Retry implements Frontier: the entry's queue key moves to the back of its
// host's queue in one batch.
func (f *DiskFrontier) Retry(_ context.Context, e Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	fp := fingerprint(e.URL)
	l, err := f.take(fp, &e)
	if err != nil {
		return err
	}
	host := l.e.Host
	b := f.db.NewBatch()
	_ = b.Delete(queueKey(host, l.seq), nil)
	f.seq++
	_ = b.Set(queueKey(host, f.seq), appendQueued(nil, &e, host, l.prev, l.was), nil)
	if err := f.apply(b, false); err != nil {
		f.out[fp] = l
		return err
	}
	h := f.hosts[host]
	h.pending++
	f.pending++
	return nil
}

// Finish implements Frontier. The outcome is written at once, unsynced,
// after the batch that admitted the page's links: a crash leaves the URL
// Done only if its links are in. Once an [Output] is opened on f, it is
// kept in memory instead and written by the Output's next commit, with
// the length of the records file that holds the URL's record.
func (f *DiskFrontier) Finish(_ context.Context, e Entry, s State) error {
	return f.finish(e, s)
}

// finishDenied implements deniedFinisher: it finishes e as Failed, stored
// as denied by robots.txt, which admittedCount does not count.
func (f *DiskFrontier) finishDenied(_ context.Context, e Entry) error {
	return f.finish(e, deniedState)
}

// finish finishes e in the state s, Failed stored as deniedState for a URL
// robots.txt denied.
func (f *DiskFrontier) finish(e Entry, s State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	fp := fingerprint(e.URL)
	l := f.out[fp]
	if e.Lease != 0 || l != nil {
		var err error
		if l, err = f.take(fp, &e); err != nil {
			return err
		}
	} else {
		e.Host = e.host()
		l = &leased{e: e}
		f.noteSeen(fp) // its state is written: it is seen
	}
	l.state = s
	if f.deferred {
		f.finished[fp] = l
		f.finList = append(f.finList, finishedURL{fp, l})
		f.finTaken++
		if len(f.out) == 0 { // every slot waits for the commit
			signal(f.stalled) // first: the committer kicked finds it
		}
		signal(f.kick)
		return nil
	}
	b := f.db.NewBatch()
	f.writeDone(b, fp, l)
	if err := f.apply(b, false); err != nil {
		return err
	}
	f.doneWritten(l)
	return nil
}

// writeDone writes into b the outcome of a finished URL: its state with
// its validators (those of this fetch, or else those of the pass before),
// and the removal of its queue key. A URL that Recrawl queued again and
// that ends as it was, with no new validators (a page that has not
// changed), keeps the state it has on disk.
func (f *DiskFrontier) writeDone(b *pebble.Batch, fp [16]byte, l *leased) {
	f.writeState(b, fp, l)
	f.unmark(b, fp)
	f.unqueue(b, l)
}

// writeDones writes into b the outcomes of fin, as writeDone does, but
// kind by kind and each kind in key order, for the reason takeAdmits
// gives. It sorts fin.
func (f *DiskFrontier) writeDones(b *pebble.Batch, fin []finishedURL) {
	slices.SortFunc(fin, func(x, y finishedURL) int { return compareFP(x.fp, y.fp) })
	for _, u := range fin {
		f.writeState(b, u.fp, u.l)
	}
	for _, u := range fin {
		f.unmark(b, u.fp)
	}
	slices.SortFunc(fin, func(x, y finishedURL) int { return compareQueueKeys(x.l.e.Host, x.l.seq, y.l.e.Host, y.l.seq) })
	for _, u := range fin {
		f.unqueue(b, u.l)
	}
}

// writeState writes into b a finished URL's state with its validators,
// unless it keeps the state it has on disk (see writeDone).
func (f *DiskFrontier) writeState(b *pebble.Batch, fp [16]byte, l *leased) {
	if l.was == Unseen || l.was != l.state || l.v != nil {
		f.keyBuf = append(append(f.keyBuf[:0], kindState), fp[:]...)
		f.valBuf = appendDone(f.valBuf[:0], l.state, &l.e, l.validators())
		_ = b.Set(f.keyBuf, f.valBuf, nil)
	}
}

// unmark writes into b the removal of a finished URL's recorded mark, if
// it has one.
func (f *DiskFrontier) unmark(b *pebble.Batch, fp [16]byte) {
	if _, ok := f.marked[fp]; ok {
		_ = b.Delete(recordedKey(fp), nil)
		delete(f.marked, fp) // a failed batch sticks: nothing is written after it
	}
}

// unqueue writes into b the removal of a finished URL's queue key, if it
// has one.
func (f *DiskFrontier) unqueue(b *pebble.Batch, l *leased) {
	if l.seq == 0 {
		return
	}
	host := l.e.Host
	f.keyBuf = appendQueueKey(f.keyBuf[:0], host, l.seq)
	_ = b.Delete(f.keyBuf, nil)
	f.hosts[host].keys-- // a failed batch sticks: nothing is written after it
}

// doneWritten forgets a host that has nothing left on disk, once its
// finished URL's batch is committed.
func (f *DiskFrontier) doneWritten(l *leased) {
	if l.seq == 0 {
		return
	}
	if h := f.hosts[l.e.Host]; h != nil && h.keys == 0 && h.pending == 0 {
		delete(f.hosts, l.e.Host)
	}
}

// State implements Frontier.
func (f *DiskFrontier) State(_ context.Context, url string) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return Unseen, err
	}
	fp := fingerprint(url)
	if f.out[fp] != nil {
		return InFlight, nil
	}
	if l := f.finished[fp]; l != nil {
		return l.state.public(), nil
	}
	if err := f.flushAdmits(); err != nil {
		return Unseen, err
	}
	v, ok, err := f.get(stateKey(fp))
	if err != nil || !ok {
		return Unseen, err
	}
	return State(v[0]).public(), nil
}

// Hosts implements Frontier.
func (f *DiskFrontier) Hosts(_ context.Context, n int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return nil, err
	}
	var hosts []string
	for key, h := range f.hosts {
		if len(hosts) == n {
			break
		}
		if h.pending > 0 {
			hosts = append(hosts, key)
		}
	}
	return hosts, nil
}

// HostPending returns the number of host's URLs pending.
func (f *DiskFrontier) HostPending(_ context.Context, host string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.hosts[host]; h != nil {
		return h.pending, f.usable()
	}
	return 0, f.usable()
}

// Counts implements Frontier. URLs finished and waiting for a Commit count
// as neither pending nor in flight.
func (f *DiskFrontier) Counts(context.Context) (pending, inFlight int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending, len(f.out), f.usable()
}
