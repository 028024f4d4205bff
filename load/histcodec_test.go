package load

import (
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

func BenchmarkEncodeSecond(b *testing.B) {
	h := hdr.New(histMin, histMax, histDigits)
	for i := range int64(20000) {
		_ = h.RecordValue(100 + i%5000)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeHist(h)
	}
}
