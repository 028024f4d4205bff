// This file holds sluice fetch --resume: the records already in the output
// file, read back so that a fetch run again skips the lines they cover.

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
	"github.com/zeebo/xxh3"
)

// recorded counts the records of an output file by the fingerprint of
// their URL; a URL the input lists twice has two records.
type recorded map[[16]byte]int32

// take reports whether the input line has a record left to account for,
// using it up.
func (r recorded) take(line string) bool {
	k := xxh3.HashString128(recordedURL(line)).Bytes()
	if r[k] == 0 {
		return false
	}
	r[k]--
	return true
}

// recordedURL returns the "url" a record of the input line holds, once
// written and read back: its password redacted, and each byte that is
// not UTF-8 replaced by U+FFFD, as encoding/json writes it. Keyed by the
// line as it was, such a line matched no record, and every resume
// fetched it again and appended a second record.
func recordedURL(line string) string {
	s := sluice.RedactURL(line)
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			c = unicode.ReplacementChar
		}
		b.WriteRune(c)
		i += size
	}
	return b.String()
}

// openResume reads the records of the output file at path and opens it for
// appending. A last line cut short (a run killed mid-write) is cut off; a
// line before it that is not a record means the file is not a fetch's
// output, and is refused. The records of lines a stop cut short (in
// flight with no grace left, or read and not yet sent) are dropped, for
// their lines to be fetched again; openResume returns the records, those
// of them that are errors, and how many it dropped.
func openResume(path string) (done, failed recorded, dropped int, f *os.File, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, 0, nil, usageErrorf("fetch: --resume: %v", err)
	}
	// A device or a pipe holds no records to read back and cannot be
	// rewritten: /dev/full reads as endless zeros, one line that took all
	// memory.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, nil, 0, nil, fmt.Errorf("fetch: --resume: %s: %w", path, err)
		}
		return nil, nil, 0, nil, usageErrorf("fetch: --resume: %s is not a regular file: --resume reads back the records -o wrote to a file and appends to it", path)
	}
	if err := lockRecords(f); err != nil {
		f.Close()
		return nil, nil, 0, nil, fmt.Errorf("fetch: --resume: %s: %w", path, err)
	}
	// The file a symbolic link -o names, where its rewrite goes: renamed
	// over the link, the new file replaced the link, and the file it
	// named kept the records dropped and lacked those appended.
	real := path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		real = p
	}
	removeStaleRewrites(real)
	done, failed, good, cut, err := readRecords(f)
	if err == nil && cut > 0 {
		f, err = dropCut(f, real, good)
	} else if err == nil {
		err = f.Truncate(good)
		if err == nil {
			_, err = f.Seek(good, io.SeekStart)
		}
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, nil, 0, nil, fmt.Errorf("fetch: --resume: %s: %w", path, err)
	}
	return done, failed, cut, f, nil
}

// resumeLine is what --resume reads of a record.
type resumeLine struct {
	URL   *string `json:"url"`
	Kind  string  `json:"error_kind"`
	Error string  `json:"error"`
}

// cutShort reports whether a record is of a line a stop cut short.
func (l resumeLine) cutShort() bool { return l.Kind == failure.Cancelled.String() }

// readRecords returns the records of r, but those of lines a stop cut
// short, which it counts (cut), those of them that are errors, and the
// length of r's whole lines.
func readRecords(r io.Reader) (done, failed recorded, good int64, cut int, err error) {
	done, failed = make(recorded), make(recorded)
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return done, failed, good, cut, nil // a last line without its newline is cut off
		}
		if err != nil {
			return nil, nil, 0, 0, err
		}
		var rec resumeLine
		if json.Unmarshal(bytes.TrimSpace(line), &rec) != nil || rec.URL == nil {
			return nil, nil, 0, 0, fmt.Errorf("line %d is not a record of sluice fetch", n)
		}
		if rec.cutShort() {
			cut++
		} else {
			k := xxh3.HashString128(*rec.URL).Bytes()
			done[k]++
			if rec.Error != "" {
				failed[k]++
			}
		}
		good += int64(len(line))
	}
}

// removeStaleRewrites removes the files that a resume killed while it
// rewrote the records file at path (see dropCut), no link, left beside it.
// The lock on the file, held, says that no other resume is writing one
// now.
func removeStaleRewrites(path string) {
	dir, prefix := filepath.Dir(path), filepath.Base(path)+".resume-"
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// dropCut writes the first good bytes of f, its whole lines, but the
// records of lines a stop cut short, to a new file renamed over path (no
// link: the file itself) once synced, and returns that file open for
// appending. f is closed.
func dropCut(f *os.File, path string, good int64) (*os.File, error) {
	defer f.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".resume-*")
	if err != nil {
		return nil, err
	}
	err = copyUncut(tmp, f, good)
	if err == nil {
		if st, serr := f.Stat(); serr == nil {
			err = tmp.Chmod(st.Mode().Perm())
		}
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = lockRecords(tmp) // before a second sluice can open it
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}

// copyUncut copies the lines of the first n bytes of src to dst, but the
// records of lines a stop cut short.
func copyUncut(dst io.Writer, src io.ReadSeeker, n int64) error {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(io.LimitReader(src, n), 64<<10)
	bw := bufio.NewWriterSize(dst, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
		var rec resumeLine
		if json.Unmarshal(bytes.TrimSpace(line), &rec) == nil && rec.cutShort() {
			continue
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
}

// errRecordsLocked is the error of a records file that another sluice
// appends to.
var errRecordsLocked = errors.New("another sluice is writing to it")

// lockRecords takes an exclusive lock (flock) on the records file f,
// held until f is closed, so that two runs of the same fetch --resume
// command do not append to one file at once. A file system without flock
// leaves it unlocked.
func lockRecords(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		return errRecordsLocked
	}
	return nil
}
