// This file holds what ties a DiskFrontier to an output file (Commit) and
// what a recrawl needs: stored validators and the queueing of every
// finished URL again.

package crawler

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// Record names a record the caller has written to its output for a URL,
// and the output's length just after that record.
type Record struct {
	// URL is the URL the record is for, as the crawl gave it.
	URL string
	// End is the output's length, in bytes, once the record is written.
	End int64
}

// Commit marks the URLs of recs recorded and stores the output's length
// after the last of them, in one synced batch. Each URL stays pending until
// its Finish makes it Done; a URL recorded but not Done when the process
// died is fetched again for its links, and [DiskFrontier.Recorded] tells
// the caller not to write its record a second time. [Output] calls it, and
// writes in the same batch the Finishes that wait for it.
//
// The caller must have flushed and fsynced the output up to the last
// record's End before calling Commit, and must not call it from two
// goroutines at once. After a crash, truncating the output to
// [DiskFrontier.Committed] leaves exactly one record for each URL
// recorded; the URLs whose records were cut off are pending and
// unrecorded.
func (f *DiskFrontier) Commit(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	return f.commitOutput(ctx, recs, recs[len(recs)-1].End, nil, 0, nil)
}

// commitOutput writes, in one batch synced before it returns, the recorded
// marks of recs, the output length end and the Finishes of fin (taken by
// takeFinished before the records were, so every one has its record in
// the first end bytes). The batch goes in under the lock; its fsync, which
// makes it and all before it durable, is outside, so that the crawl goes
// on meanwhile.
// data, if not empty, is the output's bytes from offset off to end, kept in
// the batch's log record until the output is synced (see disktail.go).
func (f *DiskFrontier) commitOutput(_ context.Context, recs []Record, end int64, fin []finishedURL, off int64, data []byte) error {
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	b := f.takeAdmits()
	// A record whose Finish is in this batch needs no mark: the mark is
	// for a URL recorded and not Done, which a crash fetches again.
	finished := make(map[[16]byte]bool, len(fin))
	for _, u := range fin {
		finished[u.fp] = true
	}
	for _, r := range recs {
		if fp := fingerprint(r.URL); !finished[fp] {
			_ = b.Set(recordedKey(fp), nil, nil)
			f.marked[fp] = struct{}{}
		}
	}
	_ = b.Set(metaKey("output"), binary.AppendUvarint(nil, uint64(end)), nil)
	if len(data) > 0 {
		f.tailBuf = appendLogTail(f.tailBuf[:0], off, data)
		_ = b.LogData(f.tailBuf, nil)
		f.tailTo = end
	}
	f.writeDones(b, fin) // after the marks: a Done URL has none
	err := f.apply(b, false)
	if err == nil {
		f.dirty = false // the fsync below covers every write before it
		f.commit = end
		for _, u := range fin {
			if f.finished[u.fp] == u.l {
				delete(f.finished, u.fp)
			}
			f.doneWritten(u.l)
		}
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	err = guard(func() error { return f.db.LogData(nil, pebble.Sync) })
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if f.err == nil {
			f.err = writeError(f.dir, err)
		}
		return f.err
	}
	f.finCommitted += uint64(len(fin))
	signal(f.gate)
	return nil
}

// signal wakes whoever waits on c, if anyone does, without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// finishGate reports how many Finishes f has kept in memory for a commit
// since it was opened and how many of them are committed, with a channel
// signalled each time that count grows; waits is false when no committer
// runs, and a Finish is then not waited for. The scheduler holds a page's
// crawl slot until its Finish is committed, so that the URLs leased or
// finished but not yet committed, the URLs a kill makes the next run
// fetch again, are never more than MaxInFlight.
func (f *DiskFrontier) finishGate() (taken, committed uint64, wake <-chan struct{}, waits bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.finTaken, f.finCommitted, f.gate, f.kick != nil
}

// openGate starts the gate of a committer and returns the channel a
// Finish kicks it with, and the one a Finish signals when it leaves no URL
// leased: every slot of the crawl then waits for the commit, and no
// fetch goes on meanwhile.
func (f *DiskFrontier) openGate() (kick, stalled <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kick, f.gate, f.stalled = make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	return f.kick, f.stalled
}

// releaseGate counts every Finish taken as committed and wakes the
// waiters: the output failed (the crawl stops, and no slot may wait for a
// commit that will not come) or its committer has ended. With closed the
// gate is shut: Finishes are no longer waited for.
func (f *DiskFrontier) releaseGate(closed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finCommitted = f.finTaken
	signal(f.gate)
	if closed {
		f.kick = nil
	}
}

// deferFinishes makes later Finishes wait in memory for a commit: an
// Output is kept with f.
func (f *DiskFrontier) deferFinishes() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deferred = true
}

// takeFinished returns the Finishes waiting for a commit, in the order
// they came; State answers for them from memory until commitOutput has
// written them.
func (f *DiskFrontier) takeFinished() []finishedURL {
	f.mu.Lock()
	defer f.mu.Unlock()
	fin := f.finList
	f.finList = nil
	return fin
}

// Recorded reports whether a Commit has named a record of url that its
// Finish has not yet followed: a URL fetched again after a crash for its
// links, whose record is in the output already. Memory holds these marks
// (at most the URLs in flight at each crash, and those whose records
// were committed before their Finishes), so Recorded reads no disk.
func (f *DiskFrontier) Recorded(_ context.Context, url string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return false, err
	}
	_, ok := f.marked[fingerprint(url)]
	return ok, nil
}

// Committed returns the output length of the last Commit, 0 if there has
// been none. A caller opening a frontier after a crash truncates its output
// to this length.
func (f *DiskFrontier) Committed() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commit
}

// SetValidators keeps v as url's validators, written with its outcome when
// it is finished (or committed). It is for a visit function to call before
// the URL's Finish; on a URL finished already it rewrites the stored
// outcome with v, and on a URL neither in flight nor finished, which has
// no outcome to keep them with, it does nothing.
func (f *DiskFrontier) SetValidators(_ context.Context, url string, v Validators) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	fp := fingerprint(url)
	if l := f.out[fp]; l != nil {
		l.v = &v
		return nil
	}
	if l := f.finished[fp]; l != nil {
		l.v = &v
		return nil
	}
	val, ok, err := f.get(stateKey(fp))
	if err != nil || !ok {
		return err
	}
	s, e, _, done, err := decodeDone(val)
	if err != nil || !done {
		return err
	}
	b := f.db.NewBatch()
	_ = b.Set(stateKey(fp), appendDone(nil, s, &e, &v), nil)
	return f.apply(b, false)
}

// Validators returns the validators stored for url, and whether there are
// any: a URL fetched by an earlier pass of the crawl has them.
func (f *DiskFrontier) Validators(_ context.Context, url string) (Validators, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return Validators{}, false, err
	}
	fp := fingerprint(url)
	l := f.out[fp]
	if l == nil {
		l = f.finished[fp]
	}
	if l != nil {
		// Queued with them by Recrawl, if an earlier pass stored any: the
		// URL's state on disk is Pending, which carries none.
		if l.prev != nil {
			return *l.prev, true, nil
		}
		return Validators{}, false, nil
	}
	val, ok, err := f.get(stateKey(fp))
	if err != nil || !ok {
		return Validators{}, false, err
	}
	_, _, v, _, err := decodeDone(val)
	if err != nil || v == nil {
		return Validators{}, false, err
	}
	return *v, true, nil
}

// recrawlBatch is how many URLs one batch of Recrawl queues again.
const recrawlBatch = 5000

// recrawlCursor is the metadata name of a recrawl pass's progress: the
// fingerprint of the last URL queued again while the pass is being queued,
// empty once it is all queued.
const recrawlCursor = "recrawl"

// Recrawl starts a new pass of the crawl: it queues every Done or Failed
// URL again, with its depth, parent and validators, and returns the number
// of URLs queued. A URL queued again keeps its state until it is finished,
// so that a page found unchanged needs no state written; the URLs pending
// already stay as they are. Each batch stores how far the pass has been
// queued, so a Recrawl cut short by a crash is finished by calling it
// again; once a pass is all queued, Recrawl does nothing (and returns 0)
// until none of its URLs is pending. It fails while URLs are in flight.
func (f *DiskFrontier) Recrawl(_ context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return 0, err
	}
	if n := len(f.out) + len(f.finished); n > 0 {
		return 0, fmt.Errorf("crawler: recrawl: %d URLs are in flight or wait for a commit", n)
	}
	if err := f.flushAdmits(); err != nil {
		return 0, err
	}
	from, ok, err := f.get(metaKey(recrawlCursor))
	switch {
	case err != nil:
		return 0, fmt.Errorf("crawler: state dir %s: %w", f.dir, err)
	case ok && len(from) == 0 && f.pending > 0:
		return 0, nil // the pass is queued; its URLs are not all finished
	case ok && len(from) != 0 && len(from) != 16:
		return 0, fmt.Errorf("%w: %s: bad recrawl cursor %q", ErrStateCorrupt, f.dir, from)
	}
	return f.requeue(from)
}

// requeue queues again the Done and Failed URLs past the fingerprint from
// (from the first if it is empty), a batch at a time, each with the
// pass's progress. The caller holds mu.
func (f *DiskFrontier) requeue(from []byte) (int, error) {
	lower := []byte{kindState}
	if len(from) > 0 {
		lower = append(stateKey([16]byte(from)), 0) // just past from
	}
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: []byte{kindState + 1}})
	if err != nil {
		return 0, fmt.Errorf("crawler: state dir %s: %w", f.dir, err)
	}
	defer iter.Close()
	rq := requeuer{f: f, b: f.db.NewBatch(), counts: make(map[string]int)}
	for iter.First(); iter.Valid(); iter.Next() {
		if err := rq.add(iter.Value()); err != nil {
			rq.b.Close()
			return rq.total, err
		}
		if rq.b.Count() >= recrawlBatch {
			size := rq.b.Len() // the next batch's size, give or take: it starts there, not grown to it
			if err := rq.flush(iter.Key()[1:]); err != nil {
				return rq.total, err
			}
			rq.b = f.db.NewBatchWithSize(size + size/8)
		}
	}
	if err := iter.Error(); err != nil {
		rq.b.Close()
		return rq.total, fmt.Errorf("crawler: state dir %s: %w", f.dir, err)
	}
	if err := rq.flush(nil); err != nil {
		return rq.total, err
	}
	return rq.total, nil
}

// requeuer is a Recrawl's batch under way.
type requeuer struct {
	f        *DiskFrontier
	b        *pebble.Batch
	counts   map[string]int
	key, val []byte
	host     string // of the URL queued last
	total    int
}

// add queues again the URL whose state value is v. Its validators and
// state go with the entry, so that the recrawled page's request finds them
// without a lookup and its Finish knows what is on disk. The state value
// is turned into the queue value without decoding its strings: decoding
// them cost 4 allocations a URL, a fifth of the CPU of queueing a pass.
func (rq *requeuer) add(v []byte) error {
	f := rq.f
	val, host, ok, err := rq.queued(v)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	if !ok {
		return nil // pending (queued already), or a seed that was not a URL: it has its record
	}
	f.seq++
	rq.key = appendQueueKey(rq.key[:0], host, f.seq)
	_ = rq.b.Set(rq.key, val, nil)
	rq.counts[host]++
	return nil
}

// queued returns the queue value of the finished URL whose state value
// (see appendDone) is v, as appendQueued would encode its decoded entry
// with its validators and state, and its host key; ok is false for a
// pending URL's state, or a URL with no host.
func (rq *requeuer) queued(v []byte) (val []byte, host string, ok bool, err error) {
	if len(v) <= 1 {
		return nil, "", false, nil // pending: its state carries no entry
	}
	s := State(v[0])
	depth, n := binary.Uvarint(v[1:])
	if n <= 0 {
		return nil, "", false, errCorruptValue
	}
	url, n, err := storedBytes(v, 1+n)
	if err != nil {
		return nil, "", false, err
	}
	parent, n, err := storedBytes(v, n)
	if err != nil {
		return nil, "", false, err
	}
	if host, ok = rq.hostOf(url); !ok {
		return nil, "", false, nil
	}
	b := binary.AppendUvarint(rq.val[:0], depth)
	b = append(b, 0, 0, 0) // attempts, redirects, not-before: a new pass's entry
	b = appendStrippedBytes(b, url, host)
	b = appendStrippedBytes(b, parent, host)
	if rest := v[n:]; len(rest) > 0 {
		if _, _, err := decodeValidators(rest); err != nil {
			return nil, "", false, err
		}
		b = append(append(b, rest...), byte(s))
	}
	rq.val = b
	return b, host, true, nil
}

// hostOf returns the host key of the canonical URL u (see HostKey),
// without allocating for a URL of the same host as the last one.
func (rq *requeuer) hostOf(u []byte) (string, bool) {
	if h := rq.host; h != "" && len(u) >= len(h) && string(u[:len(h)]) == h && (len(u) == len(h) || u[len(h)] == '/') {
		return h, true
	}
	rq.host = HostKey(string(u))
	return rq.host, rq.host != ""
}

// storedBytes returns the bytes of the string that appendStripped wrote
// with no prefix at c[n:], and the offset past it.
func storedBytes(c []byte, n int) ([]byte, int, error) {
	v, k := binary.Uvarint(c[n:])
	if k <= 0 || v>>1 > uint64(len(c)-n-k) {
		return nil, 0, errCorruptValue
	}
	n += k
	l := int(v >> 1)
	return c[n : n+l], n + l, nil
}

// appendStrippedBytes is appendStripped of a string given as bytes.
func appendStrippedBytes(b, s []byte, prefix string) []byte {
	if prefix != "" && len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix {
		s = s[len(prefix):]
		b = binary.AppendUvarint(b, uint64(len(s))<<1|1)
	} else {
		b = binary.AppendUvarint(b, uint64(len(s))<<1)
	}
	return append(b, s...)
}

// flush commits the batch, which it closes, with the pass's progress: the
// fingerprint of the last URL read, or nil once all are queued.
func (rq *requeuer) flush(last []byte) error {
	_ = rq.b.Set(metaKey(recrawlCursor), last, nil)
	if err := rq.f.requeued(rq.b, rq.counts); err != nil {
		return err
	}
	rq.total += sum(rq.counts)
	clear(rq.counts)
	return nil
}

// requeued commits a batch of Recrawl, unsynced (the caller's next synced
// write makes it durable, and a Recrawl cut short goes on from the progress
// its last batch on disk stored), and counts its URLs as pending.
func (f *DiskFrontier) requeued(b *pebble.Batch, counts map[string]int) error {
	if err := f.apply(b, false); err != nil {
		return err
	}
	for host, n := range counts {
		f.addQueued(host, n)
	}
	return nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
