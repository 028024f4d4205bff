package crawler_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
)

func ExampleCrawler_Crawl() {
	site := crawltest.NewSite(500, 10) // pages linking to each other
	srv := httptest.NewServer(site)
	defer srv.Close()

	c := &crawler.Crawler{MaxInFlight: 20}
	pages := 0
	err := c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *crawler.Page) error {
		if p.Err != nil {
			return nil // recorded, not fatal
		}
		pages++ // visit runs on one goroutine: no lock needed
		return nil
	})
	unique, duplicates := site.Fetches()
	fmt.Println(pages, "pages;", unique, "fetched,", duplicates, "twice; err:", err)
	// Output: 500 pages; 500 fetched, 0 twice; err: <nil>
}

func ExamplePage_Document() {
	srv := httptest.NewServer(crawltest.NewSite(3, 2))
	defer srv.Close()

	c := &crawler.Crawler{MaxDepth: 1}
	c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *crawler.Page) error {
		doc, err := p.Document() // parsed only when asked for
		if err != nil {
			return err
		}
		if p.Depth == 0 {
			fmt.Println(doc.Find("h1").Text(), "links to", doc.Find("a").Length(), "pages")
		}
		return nil
	})
	// Output: Page 0 links to 2 pages
}
