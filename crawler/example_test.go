package crawler_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

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

// A crawl kept in a state directory, stopped after 100 pages and run again:
// the second run resumes where the first stopped, and the records file
// ends with each page's record once.
func ExampleOpenDiskFrontier() {
	srv := httptest.NewServer(crawltest.NewSite(300, 10))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "crawl")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	run := func(stopAfter int) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f, err := crawler.OpenDiskFrontier(dir, nil)
		if err != nil {
			return err
		}
		defer f.Close()
		out, err := crawler.OpenOutput(f, filepath.Join(dir, "pages.txt"))
		if err != nil {
			return err
		}
		defer out.Close(context.Background()) // before f's Close: defers run last first
		out.StartCommitter(ctx)
		c := &crawler.Crawler{Frontier: f, MaxInFlight: 8}
		visited := 0
		return c.Crawl(ctx, []string{srv.URL + "/p/0"}, func(p *crawler.Page) error {
			if again, err := f.Recorded(ctx, p.URL); again || err != nil {
				return err // its record is in the file already
			}
			if visited++; visited == stopAfter {
				cancel() // as a Ctrl+C would
			}
			return out.Write(p.URL, []byte(p.URL+"\n"))
		})
	}
	fmt.Println("first run:", run(100))
	fmt.Println("second run:", run(0))

	data, err := os.ReadFile(filepath.Join(dir, "pages.txt"))
	if err != nil {
		panic(err)
	}
	lines := strings.Fields(string(data))
	distinct := map[string]bool{}
	for _, l := range lines {
		distinct[l] = true
	}
	fmt.Println(len(lines), "records,", len(distinct), "distinct")
	// Output:
	// first run: context canceled
	// second run: <nil>
	// 300 records, 300 distinct
}
