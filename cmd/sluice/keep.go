// This file holds what fetch and crawl keep of a response beyond its
// record's counts: --save DIR writes bodies to files named from their URL,
// --include body,headers puts them in the record.

package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/urlcheck"
	"github.com/spf13/pflag"
)

// kept are the record fields --save and --include fill in.
type kept struct {
	Saved      string      `json:"saved,omitempty"` // the file the body was saved to
	Headers    http.Header `json:"headers,omitempty"`
	Body       *string     `json:"body,omitempty"`        // the body, when it is valid UTF-8
	BodyBase64 string      `json:"body_base64,omitempty"` // the body, when it is not
}

// keepFlags are --save and --include.
type keepFlags struct {
	save    string
	include []string
}

func (k *keepFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&k.save, "save", "", "save each body under DIR, as DIR/HOST/PATH (index.html for a path ending in /)")
	fs.StringSliceVar(&k.include, "include", nil, "put these in each record: body, headers (comma-separated)")
}

func (k *keepFlags) check(cmd string) error {
	for _, v := range k.include {
		if v != "body" && v != "headers" {
			return usageErrorf("%s: bad value %q for --include: want body or headers", cmd, v)
		}
	}
	if k.save != "" {
		if err := os.MkdirAll(k.save, 0o755); err != nil {
			return usageErrorf("%s: --save: %v", cmd, err)
		}
	}
	return nil
}

// active reports whether records need their response kept until written.
func (k *keepFlags) active() bool { return k.save != "" || len(k.include) > 0 }

// fill saves and includes what the flags ask for, from the writer
// goroutine. An error is a failure to save, which fails the output.
func (k *keepFlags) fill(dst *kept, rawURL string, resp *sluice.Response) error {
	if resp == nil {
		return nil
	}
	if slices.Contains(k.include, "headers") {
		dst.Headers = resp.Header
	}
	if slices.Contains(k.include, "body") {
		if utf8.Valid(resp.Body) {
			s := string(resp.Body)
			dst.Body = &s
		} else {
			dst.BodyBase64 = base64.StdEncoding.EncodeToString(resp.Body)
		}
	}
	if k.save == "" {
		return nil
	}
	name, err := saveName(rawURL)
	if err != nil {
		return err
	}
	path, err := writeSaved(k.save, name, rawURL, resp.Body)
	if err != nil {
		return fmt.Errorf("saving %s: %w", rawURL, err)
	}
	dst.Saved = path
	return nil
}

// writeSaved writes body to dir/name. When a file and a directory claim
// the same name (/a and /a/b), the body goes to dir/[hashedName] instead.
func writeSaved(dir, name, rawURL string, body []byte) (string, error) {
	path := filepath.Join(dir, name)
	err := os.MkdirAll(filepath.Dir(path), 0o755)
	if err == nil {
		if err = os.WriteFile(path, body, 0o644); err == nil {
			return path, nil
		}
	}
	if !errors.Is(err, os.ErrExist) && !isDirConflict(err) {
		return "", err
	}
	host, _, _ := strings.Cut(name, string(filepath.Separator))
	path = filepath.Join(dir, hashedName(host, rawURL))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, body, 0o644)
}

// isDirConflict reports a path whose parent is a file, or that is a
// directory.
func isDirConflict(err error) bool {
	return errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

// saveName returns the relative file name a URL's body is saved under:
// HOST[_PORT]/PATH, each path segment kept to letters, digits, '.', '-' and
// '_' with every other byte percent-encoded (so '/' in a segment, "..",
// and control bytes cannot escape or collide), "index.html" for an empty
// last segment, the query appended encoded, and segments longer than 200
// bytes shortened with a hash; or [hashedName] for a path with an encoded
// '/' or '?'.
func saveName(rawURL string) (string, error) {
	u, err := url.Parse(urlcheck.EscapeStrayPercent(rawURL)) // a crawled link to "/100%"
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w %q: cannot name a file for it", errBadURL, rawURL)
	}
	host := safeSegment(strings.ReplaceAll(strings.ToLower(u.Host), ":", "_"))
	// An encoded "/" or "?" in the path decodes to the name of another
	// URL (/a%2Fb to that of /a/b, /q%3Fx to that of /q?x): such a URL is
	// saved under its hash, as one whose name a directory holds.
	if strings.Contains(u.Path, "?") || strings.Count(u.Path, "/") != strings.Count(u.EscapedPath(), "/") {
		return hashedName(host, rawURL), nil
	}
	segs := []string{host}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	for i, p := range parts {
		last := i == len(parts)-1
		switch {
		case p == "" && last:
			p = "index.html"
		case p == "":
			continue
		}
		if last && (u.RawQuery != "" || u.ForceQuery) {
			p += "?" + u.RawQuery
		}
		segs = append(segs, safeSegment(p))
	}
	name := filepath.Join(segs...)
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("%w %q: cannot name a file for it", errBadURL, rawURL)
	}
	return name, nil
}

// hashedName returns HOST/%23/SHA256 of the URL: the name of a URL whose
// own name is taken or would be another's.
func hashedName(host, rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return filepath.Join(host, "%23", hex.EncodeToString(sum[:]))
}

func safeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && s != "." && s != "..":
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	out := b.String()
	if len(out) > 200 {
		sum := sha256.Sum256([]byte(out))
		out = out[:150] + "-" + hex.EncodeToString(sum[:8])
	}
	return out
}
