// A small HTML writer for the reports.

package load

import (
	"bufio"
	_ "embed"
	"fmt"
	"html"
	"io"
	"strings"
)

// htmlw writes an HTML page piece by piece: markup as given, values
// escaped. The reports are written with it and not with html/template:
// text/template calls reflect.Value.MethodByName, which makes the linker
// keep every exported method of every type in the program, and with it
// the sluice executable was 45 MB and a crawl's peak RSS 42 MB, against
// 30 MB and 30 MB without. The first error is kept and later writes are
// skipped.
type htmlw struct {
	w   *bufio.Writer
	err error
}

func newHTMLW(w io.Writer) *htmlw { return &htmlw{w: bufio.NewWriter(w)} }

// raw writes markup as it is.
func (h *htmlw) raw(s string) {
	if h.err == nil {
		_, h.err = h.w.WriteString(s)
	}
}

// f writes format with args as fmt.Fprintf does, each string argument
// escaped first; the format is markup.
func (h *htmlw) f(format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = html.EscapeString(s)
		}
	}
	if h.err == nil {
		_, h.err = fmt.Fprintf(h.w, format, args...)
	}
}

// pageCSS holds the styles the report pages share.
//
//go:embed page.css
var pageCSS string

// page writes a page whose markup has the markers @STYLE@, @TITLE@,
// @BODY@ and, if data is given, @DATA@: the shared styles, title escaped,
// body written by body, data as it is (JSON from json.Marshal, which
// escapes <, > and &, so it is safe inside a script element).
func (h *htmlw) page(markup, title string, body func(), data []byte) error {
	markup = strings.Replace(markup, "@STYLE@\n", pageCSS, 1)
	head, rest, _ := strings.Cut(markup, "@BODY@")
	before, after, _ := strings.Cut(head, "@TITLE@")
	h.raw(before)
	h.f("%s", title)
	h.raw(after)
	body()
	before, after, found := strings.Cut(rest, "@DATA@")
	h.raw(before)
	if found {
		h.raw(string(data))
		h.raw(after)
	}
	if h.err == nil {
		h.err = h.w.Flush()
	}
	if h.err != nil {
		return fmt.Errorf("load: write html: %w", h.err)
	}
	return nil
}

// when returns s if cond holds, else "".
func when(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}
