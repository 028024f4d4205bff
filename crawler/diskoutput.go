// This file holds Output: an append-only record file whose length a
// DiskFrontier commits together with the URLs recorded in it.

package crawler

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
)

// Output is a file of records, one per URL, kept in step with a
// DiskFrontier: [Output.Commit] flushes and fsyncs the file and commits its
// length together with the URLs recorded in it, so after a crash the file,
// truncated by [OpenOutput] to the committed length, holds one record for
// every URL the frontier holds recorded or finished and none for the
// others.
//
// The writer commits whenever no record is waiting (and every few
// hundred records when they never stop coming): each Commit takes the
// records written during the last one's fsync, a group commit. The visit
// function must wait for its record's Commit before it returns (run
// VisitWorkers as high as Concurrency, so that many wait at once), and must
// not write a record for a URL [DiskFrontier.Recorded] reports.
//
// An Output is not safe for concurrent use: one writer owns it, and
// commits under the lock it writes with.
type Output struct {
	f    *DiskFrontier
	file *os.File
	bw   *bufio.Writer
	n    int64 // bytes written, buffered included
	recs []Record
	err  error
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
	return &Output{f: f, file: file, bw: bufio.NewWriterSize(file, 64<<10), n: committed}, nil
}

// Write appends record (a whole record, its newline included) for url.
// Its first error sticks.
func (o *Output) Write(url string, record []byte) error {
	if o.err != nil {
		return o.err
	}
	k, err := o.bw.Write(record)
	o.n += int64(k)
	if err != nil {
		o.err = fmt.Errorf("crawler: output: %w", err)
		return o.err
	}
	o.recs = append(o.recs, Record{URL: url, End: o.n})
	return nil
}

// Len returns the bytes written, buffered included.
func (o *Output) Len() int64 { return o.n }

// Uncommitted returns the number of records not committed yet.
func (o *Output) Uncommitted() int { return len(o.recs) }

// Commit flushes and fsyncs the file, then commits its length in the
// frontier together with the URLs recorded since the last Commit.
func (o *Output) Commit(ctx context.Context) error {
	if o.err != nil {
		return o.err
	}
	if len(o.recs) == 0 {
		return nil
	}
	if err := o.bw.Flush(); err != nil {
		o.err = fmt.Errorf("crawler: output: %w", err)
		return o.err
	}
	if err := o.file.Sync(); err != nil {
		o.err = fmt.Errorf("crawler: output: %w", err)
		return o.err
	}
	if err := o.f.Commit(ctx, o.recs); err != nil {
		o.err = err
		return err
	}
	o.recs = o.recs[:0]
	return nil
}

// Close commits the records written and closes the file.
func (o *Output) Close(ctx context.Context) error {
	err := o.Commit(ctx)
	if cerr := o.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("crawler: output: %w", cerr)
	}
	return err
}
