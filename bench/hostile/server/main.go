// Command server serves the hostile endpoints of internal/hostile on a
// fixed address, for the memory measurements of bench/hostile.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/internal/hostile"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18300", "listen address")
	robots := flag.String("robots", "", `robots.txt: "" (404), junk, endless, or "sitemaps" to list /sitemap-index`)
	flag.Parse()
	cfg := hostile.Config{Robots: *robots}
	if *robots == "sitemaps" {
		cfg = hostile.Config{Sitemaps: true}
	}
	s := hostile.New(cfg)
	defer s.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// Serve the same handler on the fixed address.
	go http.Serve(ln, s.Config.Handler)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
