// Parsers for the command-line forms of targets and stages.

package load

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseTargets reads a targets file: one target per block. A block starts
// with "METHOD URL", may continue with "Key: Value" header lines, and may
// end with "@path", a file whose content is the request body. A blank line
// or the next "METHOD URL" line ends a block, so a file of one request
// line per target, as vegeta takes, reads as it does there. Lines starting
// with '#' are comments. readFile loads
// body files (callers usually resolve paths against the targets file's
// folder); nil rejects any "@path" line.
//
// Errors name the offending line: "load: targets line 3: ...".
func ParseTargets(r io.Reader, readFile func(name string) ([]byte, error)) ([]Target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	p := targetParser{readFile: readFile}
	for sc.Scan() {
		p.line++
		if err := p.parseLine(strings.TrimSpace(sc.Text())); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			p.line++
			return nil, p.fail("line too long")
		}
		return nil, fmt.Errorf("load: targets: %w", err)
	}
	if len(p.out) == 0 {
		return nil, errors.New("load: targets: no targets in file")
	}
	return p.out, nil
}

// targetParser is the state of ParseTargets between lines.
type targetParser struct {
	readFile func(name string) ([]byte, error)
	out      []Target
	cur      *Target // the target of the current block, nil between blocks
	line     int
}

func (p *targetParser) fail(format string, args ...any) error {
	return fmt.Errorf("load: targets line %d: %s", p.line, fmt.Sprintf(format, args...))
}

// parseLine takes one trimmed line of a targets file.
func (p *targetParser) parseLine(text string) error {
	switch {
	case strings.HasPrefix(text, "#"):
		return nil
	case text == "":
		p.cur = nil
		return nil
	case p.cur == nil || requestLine(text):
		return p.parseRequestLine(text)
	case strings.HasPrefix(text, "@"):
		return p.parseBodyLine(strings.TrimSpace(text[1:]))
	default:
		return p.parseHeaderLine(text)
	}
}

// requestLine reports whether a line inside a block starts the next
// target: a method and a URL, which no header line can be (a header's
// name ends at its colon, and holds no space).
func requestLine(text string) bool {
	method, rest, ok := strings.Cut(text, " ")
	return ok && isToken(method) && strings.Contains(rest, "://")
}

// parseRequestLine starts a target from "METHOD URL".
func (p *targetParser) parseRequestLine(text string) error {
	method, rawURL, ok := strings.Cut(text, " ")
	rawURL = strings.TrimSpace(rawURL)
	if !ok || rawURL == "" || strings.ContainsAny(rawURL, " \t") {
		return p.fail("want 'METHOD URL', got %q", text)
	}
	t := Target{Method: strings.ToUpper(method), URL: rawURL}
	if err := validateTarget(t); err != nil {
		return p.fail("%v", err)
	}
	p.out = append(p.out, t)
	p.cur = &p.out[len(p.out)-1]
	return nil
}

// parseBodyLine reads the body file named in an "@name" line.
func (p *targetParser) parseBodyLine(name string) error {
	if name == "" {
		return p.fail("empty body file name")
	}
	if p.cur.Body != nil {
		return p.fail("second body file for one target")
	}
	if p.readFile == nil {
		return p.fail("body files are not allowed here")
	}
	b, err := p.readFile(name)
	if err != nil {
		return p.fail("body file: %v", err)
	}
	if b == nil {
		b = []byte{}
	}
	p.cur.Body = b
	return nil
}

// parseHeaderLine adds a "Key: Value" header to the current target.
func (p *targetParser) parseHeaderLine(text string) error {
	if p.cur.Body != nil {
		return p.fail("header after the body file")
	}
	k, v, ok := strings.Cut(text, ":")
	k = strings.TrimSpace(k)
	v = strings.TrimSpace(v)
	if !ok || !isToken(k) || strings.ContainsAny(v, "\x00") {
		return p.fail("want 'Key: Value' header or a blank line, got %q", text)
	}
	if p.cur.Header == nil {
		p.cur.Header = make(http.Header)
	}
	p.cur.Header.Add(k, v)
	return nil
}

// ParseStages parses a ramp such as "10s:100,30s:1000,10s:0": each
// "DURATION:RATE" stage moves the arrival rate linearly from the previous
// stage's rate (0 at the start) to RATE requests per second.
func ParseStages(s string) ([]Stage, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("load: stages: empty")
	}
	var out []Stage
	for i, part := range strings.Split(s, ",") {
		ds, rs, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("load: stage %d %q: want DURATION:RATE, e.g. 30s:1000", i+1, part)
		}
		d, err := time.ParseDuration(strings.TrimSpace(ds))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("load: stage %d %q: want a positive duration such as 30s", i+1, part)
		}
		r, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil || r < 0 || r > maxRate || r != r {
			return nil, fmt.Errorf("load: stage %d %q: want a rate between 0 and %d", i+1, part, maxRate)
		}
		out = append(out, Stage{Duration: d, Rate: r})
	}
	return out, nil
}
