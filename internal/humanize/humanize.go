// Package humanize formats sizes for the reports of sluice fetch, crawl
// and load, so that they name a quantity the same way.
package humanize

import "strconv"

// Bytes formats n bytes in binary units (B, KiB, MiB, GiB) with prec
// digits after the point; a count under 1 KiB is given whole.
func Bytes(n int64, prec int) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, " GiB"}, {20, " MiB"}, {10, " KiB"}} {
		if n >= 1<<u.shift {
			return strconv.FormatFloat(float64(n)/float64(int64(1)<<u.shift), 'f', prec, 64) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " B"
}
