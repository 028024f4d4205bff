// This file undoes the content codings of bodies that the transport leaves
// coded: it decodes gzip only when it asked for it itself, and a caller's
// own Accept-Encoding (a browser's "gzip, deflate, br, zstd" given with -H)
// turns that off.

package sluice

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// maxCodings bounds the codings undone on one body; a longer list is left
// as it is.
const maxCodings = 4

// zstdMaxWindow is the largest zstd window decoded: 8 MiB, what RFC 8878
// §3.1.1.1.2 asks of HTTP decoders, so that a frame cannot make the decoder
// take more memory than that.
const zstdMaxWindow = 8 << 20

// decodeBody replaces resp.Body with its decoding when the transport left
// a Content-Encoding of gzip, x-gzip, deflate, br or zstd (or a list of
// them) undone, and removes the Content-Encoding and Content-Length
// headers, as the transport does for the gzip it decodes. Any other coding
// is left as it is. The returned close releases the decoders; the caller
// still closes the original body.
func decodeBody(resp *http.Response) (closeDecoders func(), err error) {
	closeDecoders = func() {}
	ce := resp.Header.Values("Content-Encoding")
	if resp.Uncompressed || len(ce) == 0 {
		return closeDecoders, nil
	}
	codings := strings.Split(strings.Join(ce, ","), ",")
	if len(codings) > maxCodings {
		return closeDecoders, nil
	}
	for i, c := range codings {
		codings[i] = strings.ToLower(strings.TrimSpace(c))
		if !knownCoding(codings[i]) {
			return closeDecoders, nil
		}
	}
	// An empty body, as a 304's or a 204's, has nothing to decode, and
	// the decoders that read a header would call it cut short.
	br := bufio.NewReader(resp.Body)
	if _, err := br.Peek(1); err == io.EOF {
		return closeDecoders, nil
	}
	var closers []io.Closer
	closeDecoders = func() {
		for _, c := range closers {
			c.Close()
		}
	}
	r := io.Reader(br)
	// The codings are listed in the order they were applied.
	for i := len(codings) - 1; i >= 0; i-- {
		var c io.Closer
		if r, c, err = decoder(codings[i], r); err != nil {
			closeDecoders()
			return func() {}, fmt.Errorf("sluice: Content-Encoding %s: %w", codings[i], err)
		}
		if c != nil {
			closers = append(closers, c)
		}
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{r, resp.Body}
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength, resp.Uncompressed = -1, true
	return closeDecoders, nil
}

// knownCoding reports whether decoder can undo the coding c.
func knownCoding(c string) bool {
	switch c {
	case "identity", "gzip", "x-gzip", "deflate", "br", "zstd":
		return true
	}
	return false
}

// decoder returns r decoded from the coding c, and what to close when done
// (nil if nothing).
func decoder(c string, r io.Reader) (io.Reader, io.Closer, error) {
	switch c {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		return zr, zr, err
	case "deflate":
		// "deflate" is zlib (RFC 9110 §8.4.1.2), but some servers send
		// the raw stream: read as browsers do, zlib if its header is
		// there, raw otherwise.
		br := bufio.NewReader(r)
		if h, err := br.Peek(2); err == nil && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			return zr, zr, err
		}
		fr := flate.NewReader(br)
		return fr, fr, nil
	case "br":
		return brotli.NewReader(r), nil, nil
	case "zstd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, err
		}
		return zr, zstdCloser{zr}, nil
	}
	return r, nil, nil // identity
}

// zstdCloser closes a zstd.Decoder, whose Close returns nothing.
type zstdCloser struct{ d *zstd.Decoder }

func (z zstdCloser) Close() error { z.d.Close(); return nil }
