// Command capserver is an HTTP server of known capacity for
// bench/load/findmax.sh: it serves -n requests at a time, each taking
// -service, and queues the rest, so its capacity is n / service.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	n := flag.Int("n", 4, "requests served at a time")
	service := flag.Duration("service", 10*time.Millisecond, "time each request takes")
	flag.Parse()
	sem := make(chan struct{}, *n)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sem <- struct{}{}
		time.Sleep(*service)
		<-sem
		_, _ = w.Write([]byte("ok"))
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
