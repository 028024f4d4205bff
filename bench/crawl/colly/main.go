// Command colly crawls a site with Colly v2 the way its documentation
// shows: an asynchronous collector, one limit rule for every domain,
// robots.txt obeyed, links followed from every a[href] within the seed's
// host. It prints the number of pages it received.
//
//	colly -c 50 http://127.0.0.1:8080/p/0
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime/pprof"
	"sync/atomic"

	"github.com/gocolly/colly/v2"
)

func main() {
	parallelism := flag.Int("c", 50, "requests in flight at most")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: colly [-c N] URL")
		os.Exit(2)
	}
	seed := flag.Arg(0)
	u, err := url.Parse(seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "colly:", err)
		os.Exit(2)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "colly:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}

	c := colly.NewCollector(
		colly.Async(true),
		colly.AllowedDomains(u.Hostname()),
	)
	c.IgnoreRobotsTxt = false
	if err := c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: *parallelism}); err != nil {
		fmt.Fprintln(os.Stderr, "colly:", err)
		os.Exit(1)
	}

	var pages, failed atomic.Int64
	c.OnHTML("a[href]", func(e *colly.HTMLElement) {
		e.Request.Visit(e.Attr("href"))
	})
	c.OnResponse(func(r *colly.Response) {
		pages.Add(1)
	})
	c.OnError(func(r *colly.Response, err error) {
		failed.Add(1)
	})

	if err := c.Visit(seed); err != nil {
		fmt.Fprintln(os.Stderr, "colly:", err)
		os.Exit(1)
	}
	c.Wait()
	fmt.Printf("pages %d errors %d\n", pages.Load(), failed.Load())
}
