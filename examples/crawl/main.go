// Command crawl crawls a site two links deep and prints each page's URL and
// first heading, picked with a CSS selector. Give seed URLs as arguments;
// with none it crawls a synthetic site of its own on loopback so that it
// runs anywhere. Ctrl+C stops it cleanly: pages in flight finish and are
// printed.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"

	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	seeds := os.Args[1:]
	if len(seeds) == 0 {
		srv := httptest.NewServer(crawltest.NewSite(1000, 10))
		defer srv.Close()
		seeds = []string{srv.URL + "/p/0"}
	}
	c := &crawler.Crawler{MaxInFlight: 20, PerHost: 4, MaxDepth: 2, Retries: 1}
	err := c.Crawl(ctx, seeds, func(p *crawler.Page) error {
		switch {
		case p.Err != nil:
			fmt.Printf("%s\terror: %v\n", p.URL, p.Err)
		case p.ContentType != "text/html":
			fmt.Printf("%s\t%d %s\n", p.URL, p.Response.StatusCode, p.ContentType)
		default:
			doc, err := p.Document() // parsed only because we ask
			if err != nil {
				return err
			}
			h1 := strings.TrimSpace(doc.Find("h1").First().Text())
			fmt.Printf("%s\t%d depth %d\t%q\n", p.URL, p.Response.StatusCode, p.Depth, h1)
		}
		return nil
	})
	st := c.Stats()
	fmt.Fprintf(os.Stderr, "%d pages in %v, %d duplicates skipped, %v in this callback\n",
		st.Pages, st.Elapsed.Round(1e6), st.Duplicates, st.VisitTime.Round(1e6))
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}
