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

	"github.com/zeebo/xxh3"
)

// recorded counts the records of an output file by the fingerprint of
// their URL; a URL the input lists twice has two records.
type recorded map[[16]byte]int32

// take reports whether url has a record left to account for, using it up.
func (r recorded) take(url string) bool {
	k := xxh3.HashString128(url).Bytes()
	if r[k] == 0 {
		return false
	}
	r[k]--
	return true
}

// openResume reads the records of the output file at path and opens it for
// appending. A last line cut short (a run killed mid-write) is cut off; a
// line before it that is not a record means the file is not a fetch's
// output, and is refused.
func openResume(path string) (recorded, *os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, usageErrorf("fetch: --resume: %v", err)
	}
	done, good, err := readRecords(f)
	if err == nil {
		err = f.Truncate(good)
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("fetch: --resume: %s: %w", path, err)
	}
	return done, f, nil
}

// readRecords returns the records of r and the length of its whole lines.
func readRecords(r io.Reader) (recorded, int64, error) {
	done := make(recorded)
	br := bufio.NewReaderSize(r, 64<<10)
	var good int64
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return done, good, nil // a last line without its newline is cut off
		}
		if err != nil {
			return nil, 0, err
		}
		var rec struct {
			URL *string `json:"url"`
		}
		if json.Unmarshal(bytes.TrimSpace(line), &rec) != nil || rec.URL == nil {
			return nil, 0, fmt.Errorf("line %d is not a record of sluice fetch", n)
		}
		done[xxh3.HashString128(*rec.URL).Bytes()]++
		good += int64(len(line))
	}
}
