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

// ParseTargets reads a targets file: one target per block, blocks separated
// by blank lines. A block starts with "METHOD URL", may continue with
// "Key: Value" header lines, and may end with "@path", a file whose content
// is the request body. Lines starting with '#' are comments. readFile loads
// body files (callers usually resolve paths against the targets file's
// folder); nil rejects any "@path" line.
//
// Errors name the offending line: "load: targets line 3: ...".
func ParseTargets(r io.Reader, readFile func(name string) ([]byte, error)) ([]Target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var (
		out  []Target
		cur  *Target
		line int
	)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("load: targets line %d: %s", line, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(text, "#"):
			continue
		case text == "":
			cur = nil
			continue
		case cur == nil:
			method, rawURL, ok := strings.Cut(text, " ")
			rawURL = strings.TrimSpace(rawURL)
			if !ok || rawURL == "" || strings.ContainsAny(rawURL, " \t") {
				return nil, fail("want 'METHOD URL', got %q", text)
			}
			t := Target{Method: strings.ToUpper(method), URL: rawURL}
			if err := validateTarget(t); err != nil {
				return nil, fail("%v", strings.TrimPrefix(err.Error(), "load: "))
			}
			out = append(out, t)
			cur = &out[len(out)-1]
		case strings.HasPrefix(text, "@"):
			name := strings.TrimSpace(text[1:])
			if name == "" {
				return nil, fail("empty body file name")
			}
			if cur.Body != nil {
				return nil, fail("second body file for one target")
			}
			if readFile == nil {
				return nil, fail("body files are not allowed here")
			}
			b, err := readFile(name)
			if err != nil {
				return nil, fail("body file: %v", err)
			}
			if b == nil {
				b = []byte{}
			}
			cur.Body = b
		default:
			if cur.Body != nil {
				return nil, fail("header after the body file")
			}
			k, v, ok := strings.Cut(text, ":")
			k = strings.TrimSpace(k)
			v = strings.TrimSpace(v)
			if !ok || !isToken(k) || strings.ContainsAny(v, "\x00") {
				return nil, fail("want 'Key: Value' header or a blank line, got %q", text)
			}
			if cur.Header == nil {
				cur.Header = make(http.Header)
			}
			cur.Header.Add(k, v)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			line++
			return nil, fail("line too long")
		}
		return nil, fmt.Errorf("load: targets: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("load: targets: no targets in file")
	}
	return out, nil
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
