// This file holds Output: an append-only record file whose length a
// DiskFrontier commits together with the URLs recorded in it.

package crawler

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Output is a file of records, one per URL, kept in step with a
// DiskFrontier: [Output.Commit] flushes and syncs the file and commits its
// length together with the URLs recorded in it and the frontier's
// Finishes that waited for it, so after a crash the file, truncated by
// [OpenOutput] to the committed length, holds one record for every URL the
// frontier holds recorded or finished and none for the others.
//
// The visit function writes its page's record with [Output.Write] and
// returns at once: the crawler then admits the page's links and calls
// Finish, which the frontier keeps in memory until the next commit. As a
// record is written before its Finish, every Finish a commit writes has its
// record inside the committed length. The committer
// ([Output.StartCommitter]) group-commits: as soon as a Finish waits and
// the commit before has ended, one commit takes every record and Finish
// waiting, with two syncs (the file, the frontier's log). While it runs,
// a crawl holds each finished page's slot until the page's Finish is
// committed, so the pages a kill makes the next run fetch again, those
// leased or finished but not committed, are at most MaxInFlight. The
// visit function must not write a record for a URL
// [DiskFrontier.Recorded] reports.
//
// An Output is safe for concurrent use. Close it before its frontier.
type Output struct {
	f        *DiskFrontier
	file     *os.File
	commitMu sync.Mutex // one Commit at a time

	mu   sync.Mutex
	bw   *bufio.Writer
	n    int64 // bytes written, buffered included
	recs []Record
	err  error

	stop chan struct{} // closed to end the committer
	done chan struct{} // closed when the committer has ended
}

// OpenOutput opens the record file at path for appending, creating it,
// and truncates it to the length f last committed, dropping the records of
// URLs that were not committed (they are pending again). A file shorter
// than the committed length is not the one f was committing with, and is
// refused.
func OpenOutput(f *DiskFrontier, path string) (*Output, error) {
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("crawler: output: %w", err)
	}
	committed := f.Committed()
	info, err := file.Stat()
	if err == nil && info.Size() < committed {
		err = fmt.Errorf("%s has %d bytes, fewer than the %d the state dir %s committed: it is not this crawl's output",
			path, info.Size(), committed, f.Dir())
	}
	if err == nil {
		err = file.Truncate(committed)
	}
	if err == nil {
		_, err = file.Seek(committed, io.SeekStart)
	}
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("crawler: output: %w", err)
	}
	o := &Output{f: f, file: file, bw: bufio.NewWriterSize(file, 64<<10), n: committed}
	f.deferFinishes()
	return o, nil
}

// Write appends record (a whole record, its newline included) for url to
// the file's buffer. Its first error, and a Commit's, sticks.
func (o *Output) Write(url string, record []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	k, err := o.bw.Write(record)
	o.n += int64(k)
	if err != nil {
		return o.fail(fmt.Errorf("crawler: output: %w", err))
	}
	o.recs = append(o.recs, Record{URL: url, End: o.n})
	return nil
}

// fail makes err stick and lets go of the slots waiting for a commit; o.mu
// is held.
func (o *Output) fail(err error) error {
	if o.err == nil {
		o.err = err
	}
	o.f.releaseGate(false)
	return o.err
}

// Len returns the bytes written, buffered included.
func (o *Output) Len() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// Uncommitted returns the number of records not committed yet.
func (o *Output) Uncommitted() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.recs)
}

// Commit takes the Finishes waiting in the frontier, then flushes the
// records written so far (among them the record of every one of those
// Finishes) and syncs the file, and commits its length, the URLs recorded
// since the last Commit and the Finishes in one synced batch of the
// frontier. Writes go on during the syncs.
func (o *Output) Commit(ctx context.Context) error {
	o.commitMu.Lock()
	defer o.commitMu.Unlock()
	fin := o.f.takeFinished() // before the records: each has its record in
	o.mu.Lock()
	if o.err != nil {
		o.mu.Unlock()
		return o.err
	}
	if err := o.bw.Flush(); err != nil {
		err = o.fail(fmt.Errorf("crawler: output: %w", err))
		o.mu.Unlock()
		return err
	}
	recs, end := o.recs, o.n
	o.recs = nil
	o.mu.Unlock()
	if len(recs) == 0 && len(fin) == 0 {
		return nil
	}
	err := syncData(o.file)
	if err != nil {
		err = fmt.Errorf("crawler: output: %w", err)
	} else {
		err = o.f.commitOutput(ctx, recs, end, fin)
	}
	if err != nil {
		o.mu.Lock()
		err = o.fail(err)
		o.mu.Unlock()
	}
	return err
}

// idleCommit is how often the committer commits records that no Finish
// follows (a seed that is not a URL, a page whose lease was lost): the
// Finishes that do follow records kick a commit at once.
const idleCommit = 100 * time.Millisecond

// StartCommitter starts the goroutine that group-commits: it commits as
// soon as a Finish waits and the commit before has ended, so a commit
// carries every Finish that came during the one before. While it runs, a
// crawl on the frontier holds each finished page's slot until its Finish
// is committed. It commits with ctx's values but not its cancellation: a
// crawl stopped by a signal commits what it wrote. Close ends it; call
// StartCommitter once.
func (o *Output) StartCommitter(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	kick := o.f.openGate()
	o.stop, o.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(o.done)
		t := time.NewTicker(idleCommit)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-t.C:
			case <-kick:
			}
			_ = o.Commit(ctx) // its error sticks, for Write and Close
		}
	}()
}

// Close ends the committer, commits the records written and closes the
// file.
func (o *Output) Close(ctx context.Context) error {
	if o.stop != nil {
		close(o.stop)
		<-o.done
		o.stop = nil
	}
	err := o.Commit(ctx)
	o.f.releaseGate(true)
	if cerr := o.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("crawler: output: %w", cerr)
	}
	return err
}
