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
	// URL is the URL the record is for, as Finish was given it.
	URL string
	// End is the output's length, in bytes, once the record is written.
	End int64
}

// Commit makes durable, in one synced batch, the outcome of the finished
// URLs whose records are named in recs (in the order they were written)
// together with the output's length after the last of them. It commits the
// longest prefix of recs whose URLs have been finished and returns its
// length n; the caller keeps recs[n:] for a later Commit. A record written
// by a visit call comes before its URL's Finish, so the tail of recs may
// not be finished yet.
//
// The caller must have flushed and fsynced the output up to recs[n-1].End
// before calling Commit, and must not call it from two goroutines at once:
// the one writer of the output commits under the lock it writes with. After
// a crash, truncating the output to [DiskFrontier.Committed] leaves exactly
// one record per URL the frontier holds as Done or Failed; the URLs whose
// records were cut off are pending again.
//
// Without DiskOptions.CommitOutput, Finish writes at once and Commit only
// records the length.
func (f *DiskFrontier) Commit(_ context.Context, recs []Record) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return 0, err
	}
	n := 0
	if f.opt.CommitOutput {
		for n < len(recs) && f.acks[fingerprint(recs[n].URL)] != nil {
			n++
		}
	} else {
		n = len(recs)
	}
	if n == 0 {
		return 0, nil
	}
	b := f.db.NewBatch()
	done := make([]*leased, 0, n)
	for _, r := range recs[:n] {
		fp := fingerprint(r.URL)
		if l := f.acks[fp]; l != nil {
			f.writeDone(b, fp, l)
			done = append(done, l)
			delete(f.acks, fp)
		}
	}
	end := recs[n-1].End
	_ = b.Set(metaKey("output"), binary.AppendUvarint(nil, uint64(end)), nil)
	if err := f.apply(b, true); err != nil {
		return 0, err
	}
	f.commit = end
	for _, l := range done {
		f.doneWritten(l)
	}
	return n, nil
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
// the URL's Finish; on a URL not in flight it writes v at once.
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
	b := f.db.NewBatch()
	_ = b.Set(validatorsKey(fp), appendValidators(nil, &v), nil)
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
	val, ok, err := f.get(validatorsKey(fingerprint(url)))
	if err != nil || !ok {
		return Validators{}, false, err
	}
	v, err := decodeValidators(val)
	return v, err == nil, err
}

// recrawlBatch is how many URLs one batch of Recrawl queues again.
const recrawlBatch = 1000

// Recrawl queues every Done or Failed URL again, as pending, with its
// depth and parent, for a new pass of the crawl; its validators stay. It
// returns the number of URLs queued. It fails if any URL is pending, in
// flight or waiting for a Commit: a pass must end before the next begins.
func (f *DiskFrontier) Recrawl(_ context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return 0, err
	}
	if f.pending > 0 || len(f.out) > 0 || len(f.acks) > 0 {
		return 0, fmt.Errorf("crawler: recrawl: %d URLs are pending, %d in flight", f.pending, len(f.out)+len(f.acks))
	}
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindState}, UpperBound: []byte{kindState + 1}})
	if err != nil {
		return 0, fmt.Errorf("crawler: state dir %s: %w", f.dir, err)
	}
	defer iter.Close()
	total := 0
	b := f.db.NewBatch()
	counts := make(map[string]int)
	for iter.First(); iter.Valid(); iter.Next() {
		_, e, ok, err := decodeDone(iter.Value())
		if err != nil {
			b.Close()
			return total, fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
		}
		if !ok {
			continue
		}
		host := HostKey(e.URL)
		if host == "" {
			continue // a seed that was not a URL: it has its record
		}
		f.seq++
		_ = b.Set(iter.Key(), []byte{byte(Pending)}, nil)
		_ = b.Set(queueKey(host, f.seq), appendEntry(nil, &e, host), nil)
		counts[host]++
		if b.Count() >= 2*recrawlBatch {
			if err := f.requeued(b, counts); err != nil {
				return total, err
			}
			total += sum(counts)
			b, counts = f.db.NewBatch(), make(map[string]int)
		}
	}
	if err := f.requeued(b, counts); err != nil {
		return total, err
	}
	return total + sum(counts), nil
}

// requeued commits a batch of Recrawl and counts its URLs as pending.
func (f *DiskFrontier) requeued(b *pebble.Batch, counts map[string]int) error {
	f.setCounts(b, counts)
	if err := f.apply(b, true); err != nil {
		return err
	}
	for host, n := range counts {
		h := f.hosts[host]
		h.keys += n
		h.pending += n
		f.pending += n
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
