// Sorting transport failures into the kinds the report counts, in the one
// vocabulary of internal/failure that `sluice fetch` and `sluice crawl`
// records use too.

package load

import (
	"errors"

	"github.com/sluicehq/sluice/internal/failure"
	"github.com/valyala/fasthttp"
)

// fasthttpKinds names the fasthttp errors that carry no standard error
// value, for the fast engine. They are consulted only when
// failure.Classify finds nothing more specific wrapped inside.
var fasthttpKinds = []struct {
	err  error
	kind failure.Kind
}{
	{fasthttp.ErrDialTimeout, failure.Timeout},
	{fasthttp.ErrTLSHandshakeTimeout, failure.Timeout},
	{fasthttp.ErrConnectionClosed, failure.Reset},
	{fasthttp.ErrBodyTooLarge, failure.TooLarge},
	{fasthttp.ErrNeedMore, failure.Read},
	{fasthttp.ErrResponseFirstLineMissingSpace, failure.Protocol},
	{fasthttp.ErrUnexpectedStatusCodeChar, failure.Protocol},
	{fasthttp.ErrNonNumericChars, failure.Protocol},
	{fasthttp.ErrDuplicateContentLength, failure.Protocol},
	{fasthttp.ErrUnsupportedTransferEncoding, failure.Protocol},
	{fasthttp.ErrBadTrailer, failure.Protocol},
	{fasthttp.ErrSmallReadBuffer, failure.Protocol},
	{fasthttp.ErrReadingResponseHeaders, failure.Protocol},
	{fasthttp.ErrReadingResponseTrailer, failure.Protocol},
}

// classify names the kind of a request error.
func classify(err error) failure.Kind {
	if k := failure.Classify(err); k != failure.Other {
		return k
	}
	for _, fk := range fasthttpKinds {
		if errors.Is(err, fk.err) {
			return fk.kind
		}
	}
	return failure.Other
}
