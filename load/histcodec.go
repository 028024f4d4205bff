// Histograms in reports: HdrHistogram's compressed base64 encoding, so a
// report carries its full distributions and reports can be merged exactly.

package load

import (
	"errors"
	"fmt"
	"math"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms holds a report's full distributions in HdrHistogram's V2
// compressed, base64 form (the form HdrHistogram's Java, C and Go ports
// read), values in microseconds. An empty string is an empty histogram.
type Histograms struct {
	Response string `json:"response"` // response time, from the intended send
	Service  string `json:"service"`  // service time, from the actual send
	Lateness string `json:"lateness"` // send lateness (open model)
}

// encodeHist returns h in compressed base64 form, or "" if h is empty.
func encodeHist(h *hdr.Histogram) string {
	if h == nil || h.TotalCount() == 0 {
		return ""
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		// Encoding a histogram built by this package writes to memory
		// only; it cannot fail short of a bug in the codec.
		panic(fmt.Sprintf("load: encode histogram: %v", err))
	}
	return string(b)
}

// errHistRange reports a histogram holding values this package's
// histograms cannot.
var errHistRange = errors.New("values outside 1µs..1h")

// decodeHist decodes s into a new histogram of this package's geometry
// with digits significant digits. "" decodes to an empty histogram.
func decodeHist(s string, digits int) (*hdr.Histogram, error) {
	h := hdr.New(histMin, histMax, digits)
	if s == "" {
		return h, nil
	}
	if err := mergeEncoded(h, s); err != nil {
		return nil, err
	}
	return h, nil
}

// mergeEncoded adds the histogram encoded in s to dst.
func mergeEncoded(dst *hdr.Histogram, s string) (err error) {
	if s == "" {
		return nil
	}
	defer func() {
		// The codec trusts lengths in its input; a corrupt file must be
		// an error, not a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt histogram: %v", r)
		}
	}()
	src, err := hdr.Decode([]byte(s))
	if err != nil {
		return fmt.Errorf("corrupt histogram: %w", err)
	}
	if dst.Merge(src) > 0 {
		return fmt.Errorf("corrupt histogram: %w", errHistRange)
	}
	return nil
}

// quantile returns the value at percentile q of h by nearest rank: the
// smallest recorded value (to h's precision) with at least q% of the
// values at or below it. Unlike HdrHistogram's rounded rank, the
// ceiling rank does not move when every count is multiplied, so merging a
// report with itself keeps every percentile exactly.
func quantile(h *hdr.Histogram, q float64) int64 {
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	// The relative nudge keeps an exact product (99% of 2000) from
	// rounding up a rank through float error, and scales with n.
	rank := int64(math.Ceil(q / 100 * float64(n) * (1 - 1e-12)))
	rank = min(max(rank, 1), n)
	// HdrHistogram ranks int(p/100·n + 0.5); at p = rank/n·100 that is rank.
	return h.ValueAtPercentile(float64(rank) / float64(n) * 100)
}
