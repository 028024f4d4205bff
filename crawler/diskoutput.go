// This file holds Output: an append-only record file whose length a
// DiskFrontier commits together with the URLs recorded in it.

package crawler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"
)

// Output is a file of records, one per URL, kept in step with a
// DiskFrontier: [Output.Commit] writes the records to the file and commits
// them, the file's length, the URLs recorded and the frontier's Finishes
// that waited for them in one batch of the frontier, so after a
// crash the file, restored and truncated by [OpenOutput] to the committed
// length, holds one record for every URL the frontier holds recorded or
// finished and none for the others.
//
// The records' bytes go into the frontier's log with the commit, as log
// data that no memtable holds (see disktail.go), so a commit costs one
// sync, not two: the file is synced in the background, about once a
// second (the committer does not wait for it where syncs are
// asynchronous), and before each flush of the frontier's memtables, which
// drops the logs holding the copies; OpenOutput rewrites from the copies
// a tail that a power loss took from the file. (Syncing the file in each
// commit too made a crawl with --state of bench/durable/throughput.sh's
// site take 5.5 s, against 3.8-4.3 s without.)
//
// The visit function writes its page's record with [Output.Write] and
// returns at once: the crawler then admits the page's links and calls
// Finish, which the frontier keeps in memory until the next commit. As a
// record is written before its Finish, every Finish a commit writes has its
// record inside the committed length. The committer
// ([Output.StartCommitter]) group-commits: as soon as a Finish waits, the
// commit before has ended and either a millisecond has passed since it
// started or no URL is leased (every slot waits for the commit), one
// commit takes every record and Finish waiting, with one sync (the
// frontier's log; on Linux started, not waited for: see [DiskFrontier]
// for what a power loss then undoes). While it runs,
// a crawl holds each finished page's slot until the page's Finish is
// committed, so the pages a kill makes the next run fetch again, those
// leased or finished but not committed, are at most MaxInFlight. The
// visit function must not write a record for a URL
// [DiskFrontier.Recorded] reports.
//
// Create one with [OpenOutput]; the zero value is not usable. An Output is
// safe for concurrent use. Close it before its frontier.
type Output struct {
	f        *DiskFrontier
	file     *os.File
	commitMu sync.Mutex // one Commit at a time

	mu     sync.Mutex
	pend   []byte // records written since the last commit
	n      int64  // bytes written, pend included
	recs   []Record
	err    error
	closed bool // Close has been called

	// Under commitMu: the bytes in the file, and those synced there.
	written, synced int64
	lastSync        time.Time
	// Under commitMu: the buffers of the last commit, for the records
	// written after the next one (see keep).
	spare     []byte
	spareRecs []Record
	// Under commitMu: the file's sync under way, if any, and the bytes it
	// covers.
	tailSync chan error
	tailEnd  int64

	gap  time.Duration // between the starts of two commits, at least
	stop chan struct{} // closed to end the committer
	done chan struct{} // closed when the committer has ended
}

// ErrOutputLocked is the error of opening an [Output] on a records file
// that another Output, of this process or another, has open.
var ErrOutputLocked = errors.New("crawler: records file is in use by another crawl")

// OpenOutput opens the record file at path for appending, creating it,
// restores from f's log the committed records a power loss took from it,
// and truncates it to the length f last committed, dropping the records of
// URLs that were not committed (they are pending again). A file still
// shorter than the committed length is not the one f was committing with,
// and is refused. The file is locked (flock) until Close: an Output
// opened on it meanwhile, by two state dirs given the same file, fails
// with [ErrOutputLocked]. (On a file system without flock it is not
// locked.) One Output at a time may be open on f: a second fails until
// the first is closed.
func OpenOutput(f *DiskFrontier, path string) (*Output, error) {
	if err := f.claimOutput(); err != nil {
		return nil, err
	}
	o, err := openOutput(f, path)
	if err != nil {
		f.releaseOutput()
	}
	return o, err
}

// openOutput opens the Output of OpenOutput.
func openOutput(f *DiskFrontier, path string) (*Output, error) {
	_, statErr := os.Stat(path)
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("crawler: output: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		defer func() {
			if file == nil { // refused: no empty file is left in its place
				os.Remove(path)
			}
		}()
	}
	if err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		file.Close()
		return nil, fmt.Errorf("%w: %s", ErrOutputLocked, path)
	}
	committed := f.Committed()
	err = f.restoreTail(file, path, committed)
	if err == nil {
		err = file.Truncate(committed)
	}
	if err == nil {
		// Synced, the file holds what the copies in the log were kept for.
		err = syncData(file)
	}
	if err == nil {
		err = f.tailsSynced(committed)
	}
	if err != nil {
		file.Close()
		file = nil
		if errors.Is(statErr, fs.ErrNotExist) && committed > 0 {
			err = fmt.Errorf("%s does not exist, yet the state dir %s committed %d bytes of records to it: it was moved or deleted", path, f.dir, committed)
		}
		return nil, fmt.Errorf("crawler: output: %w", err)
	}
	f.setFlushSync(func() error { return f.syncFile(file) })
	o := &Output{f: f, file: file, n: committed, written: committed, synced: committed, lastSync: time.Now(), gap: commitGap}
	f.deferFinishes()
	return o, nil
}

// Write appends record (a whole record, its newline included) for url to
// the file's buffer. Its first error, and a Commit's, sticks. After Close
// it writes nothing and returns an error.
func (o *Output) Write(url string, record []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if o.closed {
		// Accepted, the record would wait for a commit that never comes.
		return errors.New("crawler: output: write after Close")
	}
	o.pend = append(o.pend, record...)
	o.n += int64(len(record))
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

// Commit takes the Finishes waiting in the frontier, then writes the
// records written so far (among them the record of every one of those
// Finishes) to the file and commits them, the file's length, the URLs
// recorded since the last Commit and the Finishes in one synced batch of
// the frontier (on Linux, a batch written to the log with its sync
// started: see [DiskFrontier]). Writes go on during the sync. About once a second it also
// syncs the file, and notes in the frontier's log that the copies of the
// records synced are needless.
func (o *Output) Commit(ctx context.Context) error {
	o.commitMu.Lock()
	defer o.commitMu.Unlock()
	fin := o.f.takeFinished() // before the records: each has its record in
	o.mu.Lock()
	if err := o.f.flushFailed(); err != nil && o.err == nil {
		o.err = outputError(err)
	}
	if o.err != nil {
		o.mu.Unlock()
		o.f.releaseGate(false) // Finishes after a failure: their slots must not wait
		return o.err
	}
	data, recs, end := o.pend, o.recs, o.n
	o.pend, o.recs = o.spare[:0], o.spareRecs[:0]
	o.spare, o.spareRecs = nil, nil
	o.mu.Unlock()
	defer o.keep(data, recs)
	if len(recs) == 0 && len(fin) == 0 && len(data) == 0 {
		return nil
	}
	err := o.commit(ctx, data, recs, end, fin)
	if err == nil {
		err = o.syncTailLater(ctx)
	}
	if err != nil {
		o.mu.Lock()
		err = o.fail(err)
		o.mu.Unlock()
	}
	return err
}

// spareMax caps the records buffer a commit keeps for the next records:
// a larger one, grown by a burst, is left to the collector.
const spareMax = 1 << 20

// keep holds a commit's buffers, which nothing refers to once it has
// returned, for the records written after the next commit: buffers grown
// from nothing for each commit were 13.5 of the 183 MB a recrawl of
// bench/durable/recrawl.sh's site allocated. Under commitMu.
func (o *Output) keep(data []byte, recs []Record) {
	if cap(data) <= spareMax {
		o.spare = data[:0]
	}
	if cap(recs) <= spareMax/32 {
		clear(recs) // their URLs
		o.spareRecs = recs[:0]
	}
}

// commit writes data to the file at o.written and commits it to the
// frontier with recs and fin.
func (o *Output) commit(ctx context.Context, data []byte, recs []Record, end int64, fin []finishedURL) error {
	off := o.written
	if _, err := o.file.WriteAt(data, off); err != nil {
		return outputError(err)
	}
	o.written = end
	return o.f.commitOutput(ctx, recs, end, fin, off, data)
}

// tailSyncBytes and tailSyncEvery say when Commit syncs the file: once as
// many bytes as this are not synced, or this long after the last sync.
// Until then the records are in the frontier's log too.
const (
	tailSyncBytes = 8 << 20
	tailSyncEvery = time.Second
)

// syncTailLater takes the outcome of the file's sync under way if it has
// ended, noting the copies it made needless, and starts the next sync
// once one is due, without waiting for it: a committer that waited once a
// second for the file's fdatasync held every finished page's slot
// meanwhile. Where syncs are not asynchronous it syncs at once.
func (o *Output) syncTailLater(ctx context.Context) error {
	if o.tailSync != nil {
		select {
		case err := <-o.tailSync:
			if err := o.tailSynced(ctx, err); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	if o.written == o.synced || o.written-o.synced < tailSyncBytes && time.Since(o.lastSync) < tailSyncEvery {
		return nil
	}
	if !o.f.syncs.async() {
		return o.syncTail(ctx)
	}
	c := make(chan error, 1)
	if err := o.f.syncs.submit(o.file.Fd(), func(err error) { c <- err }); err != nil {
		return outputError(err)
	}
	o.tailSync, o.tailEnd, o.lastSync = c, o.written, time.Now()
	return nil
}

// tailSynced takes the outcome err of the sync under way.
func (o *Output) tailSynced(ctx context.Context, err error) error {
	o.tailSync = nil
	if err != nil {
		return outputError(err)
	}
	o.synced = o.tailEnd
	return o.f.tailsSynced(o.synced)
}

// syncTail syncs the file and notes in the frontier's log that the copies
// of the records it holds are needless, once the sync under way, if any,
// has ended.
func (o *Output) syncTail(ctx context.Context) error {
	if o.tailSync != nil {
		if err := o.tailSynced(ctx, <-o.tailSync); err != nil {
			return err
		}
	}
	if o.written == o.synced {
		return nil
	}
	if err := o.f.syncFile(o.file); err != nil {
		return outputError(err)
	}
	o.synced, o.lastSync = o.written, time.Now()
	return o.f.tailsSynced(o.synced)
}

// idleCommit is how often the committer commits records that no Finish
// follows (a seed that is not a URL, a page whose lease was lost): the
// Finishes that do follow records kick a commit at once.
const idleCommit = 100 * time.Millisecond

// commitGap is the least time between the starts of two commits while
// some URL is leased. A commit no longer waits for its sync (see syncFS),
// so without a gap a busy crawl committed one page at a time (16,632
// commits for 20,000 pages of bench/durable/throughput.sh's site), each
// with its batch, log write and records write; with 1 ms, 5,117, and the
// crawl took about a fifth less CPU. A finished page's slot waits half of
// it, on average. Once no URL is leased, every slot waits for the commit
// and nothing is fetched meanwhile: the committer then commits without
// waiting for the gap. A recrawl of bench/durable/recrawl.sh's site, whose
// pages take a slot a short time (an answer of 304), had spent 0.2-0.5 s
// of its 1.3-1.6 s with its core idle, at -c 50, and half its time at
// -c 20.
const commitGap = time.Millisecond

// StartCommitter starts the goroutine that group-commits: it commits as
// soon as a Finish waits, the commit before has ended and either
// commitGap has passed since it began or no URL is leased, so a commit
// carries every Finish that came during the one before. While it runs, a
// crawl on the frontier holds each finished page's slot until its Finish
// is committed. It commits with ctx's values but not its cancellation: a
// crawl stopped by a signal commits what it wrote. Close ends it; call
// StartCommitter once.
func (o *Output) StartCommitter(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	kick, stalled := o.f.openGate()
	o.stop, o.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(o.done)
		t := time.NewTicker(idleCommit)
		defer t.Stop()
		gap := time.NewTimer(0)
		defer gap.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-t.C:
			case <-kick:
			}
			select {
			case <-o.stop:
				return
			case <-gap.C:
			case <-stalled:
			}
			select {
			case <-stalled: // this commit takes the Finish that signalled it
			default:
			}
			gap.Reset(o.gap)
			_ = o.Commit(ctx) // its error sticks, for Write and Close
		}
	}()
}

// Close ends the committer, commits the records written and closes the
// file. A second Close does nothing.
func (o *Output) Close(ctx context.Context) error {
	o.mu.Lock()
	closed := o.closed
	o.closed = true
	o.mu.Unlock()
	if closed {
		return nil // the frontier may have another Output now
	}
	if o.stop != nil {
		close(o.stop)
		<-o.done
		o.stop = nil
	}
	err := o.Commit(ctx)
	o.commitMu.Lock()
	if err == nil {
		err = o.syncTail(ctx)
	} else if o.tailSync != nil {
		<-o.tailSync // not under way when the file is closed
	}
	o.commitMu.Unlock()
	o.f.releaseGate(true)
	o.f.setFlushSync(nil)
	if cerr := o.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("crawler: output: %w", cerr)
	}
	o.f.releaseOutput()
	return err
}

// claimOutput notes that an Output is being opened on f, and fails if one
// is open already: the frontier keeps one file's committed length, and
// two Outputs committing theirs in turn each cut the other's file to a
// wrong length at the next open.
func (f *DiskFrontier) claimOutput() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.output {
		return fmt.Errorf("crawler: output: state dir %s has an Output open already, and keeps the length of one records file", f.dir)
	}
	f.output = true
	return nil
}

// releaseOutput notes that f's Output is closed, or failed to open.
func (f *DiskFrontier) releaseOutput() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.output = false
}

// outputError names a full disk plainly, as the frontier does.
func outputError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("crawler: output: disk full, crawl stopped (resume once there is room): %w", err)
	}
	return fmt.Errorf("crawler: output: %w", err)
}
