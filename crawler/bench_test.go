package crawler

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

// BenchmarkCrawl crawls a 5,000-page synthetic site on loopback per
// iteration; server and crawler share the process, so compare runs of the
// same machine only.
func BenchmarkCrawl(b *testing.B) {
	const pages = 5000
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		site := crawltest.NewSite(pages, 10)
		srv := httptest.NewServer(site)
		b.StartTimer()
		c := &Crawler{MaxInFlight: 50}
		if err := c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if u, d := site.Fetches(); u != pages || d != 0 {
			b.Fatalf("%d pages, %d duplicates", u, d)
		}
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(pages*b.N)/b.Elapsed().Seconds(), "pages/s")
}
