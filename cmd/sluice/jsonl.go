// This file holds the JSON-lines writer behind fetch's and crawl's single
// writer goroutines.

package main

import (
	"bufio"
	"encoding/json"
	"io"
)

// jsonLines writes one JSON value a line through a buffer. Its first error
// sticks: later writes do nothing and return it. It is not safe for
// concurrent use; one writer goroutine owns it.
type jsonLines struct {
	bw  *bufio.Writer
	enc *json.Encoder
	err error
}

func newJSONLines(w io.Writer) *jsonLines {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonLines{bw: bw, enc: enc}
}

// write encodes v as one line.
func (j *jsonLines) write(v any) error {
	if j.err == nil {
		j.err = j.enc.Encode(v)
	}
	return j.err
}

// fail makes err the writer's error unless it has one already.
func (j *jsonLines) fail(err error) {
	if j.err == nil {
		j.err = err
	}
}

// flush writes out what is buffered; writers call it when no more values
// are waiting, so the output stays current for readers such as tail -f,
// and at the end.
func (j *jsonLines) flush() error {
	if j.err == nil {
		j.err = j.bw.Flush()
	}
	return j.err
}
