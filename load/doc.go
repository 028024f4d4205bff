// Package load drives HTTP load against one or more targets and reports
// latency the way a user experiences it.
//
// [Run] supports a closed model (a fixed number of connections sending back
// to back) and an open model (requests released at a planned arrival rate,
// constant or ramped). In the open model every request carries its intended
// send time, and response time is measured from that instant, so a stalled
// server shows up in the percentiles instead of being hidden by the client
// slowing down (coordinated omission). Statistics live in HDR histograms,
// so memory does not grow with the number of requests.
//
// Plain HTTP/1.1 goes through github.com/valyala/fasthttp, HTTPS over
// HTTP/1.1 through net/http, and HTTP/2 through golang.org/x/net/http2's
// framer and HPACK codec. See engine_fast.go and engine_h2.go for the
// measurements behind the choices.
package load
