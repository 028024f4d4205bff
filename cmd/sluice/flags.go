// This file holds flag types shared by the subcommands.

package main

import (
	"fmt"
	"net/http"
	"strings"
)

// headerFlag collects repeatable -H 'Key: Value' flags.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string {
	if f == nil || f.h == nil {
		return ""
	}
	var b strings.Builder
	for k, vs := range f.h {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s; ", k, v)
		}
	}
	return strings.TrimSuffix(b.String(), "; ")
}

func (f *headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	k = strings.TrimSpace(k)
	if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") {
		return fmt.Errorf("header %q: want 'Key: Value'", s)
	}
	if f.h == nil {
		f.h = make(http.Header)
	}
	f.h.Add(k, strings.TrimSpace(v))
	return nil
}

// Header returns the collected headers; nil if none were given.
func (f *headerFlag) Header() http.Header { return f.h }
