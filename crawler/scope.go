// This file holds the scope test: which links a crawl follows.

package crawler

import (
	"net/url"
	"strings"

	"github.com/sluicehq/sluice"
	"golang.org/x/net/publicsuffix"
)

// inScope reports whether links to canonical URL u are followed.
func (p *pipeline) inScope(u string) bool {
	c := p.c
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return false
	}
	switch c.Scope {
	case ScopeHost:
		if !p.scopeHosts[authority(u)] {
			return false
		}
	case ScopeDomain:
		h := hostname(u)
		ok := p.scopeDomains[h]
		for d := range p.scopeDomains {
			if ok = ok || strings.HasSuffix(h, "."+d); ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, re := range c.Deny {
		if re.MatchString(u) {
			return false
		}
	}
	if len(c.Allow) == 0 {
		return true
	}
	for _, re := range c.Allow {
		if re.MatchString(u) {
			return true
		}
	}
	return false
}

// splitURL splits a canonical URL into its origin ("https://host:port")
// and its path with query ("/" when empty).
func splitURL(u string) (origin, path string) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", u
	}
	if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
		return u[:i+3+j], u[i+3+j:]
	}
	return u, "/"
}

// authority returns the host and port of a canonical URL.
func authority(u string) string {
	origin, _ := splitURL(u)
	_, auth, _ := strings.Cut(origin, "://")
	return auth
}

// hostname returns the host name of a canonical URL, without port.
func hostname(u string) string {
	rest := authority(u)
	if strings.HasPrefix(rest, "[") {
		if j := strings.IndexByte(rest, ']'); j >= 0 {
			return rest[:j+1]
		}
	}
	if j := strings.LastIndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// registrable returns the registrable domain of a host name (example.com
// for www.example.com), or the name itself for IP addresses and the like.
func registrable(h string) string {
	d, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return h
	}
	return d
}

// seedScope returns the hosts (with port) and domains of the seeds, for the scope test.
func seedScope(cz *canonicalizer, seeds []string) (hosts, domains map[string]bool) {
	hosts, domains = make(map[string]bool), make(map[string]bool)
	for _, raw := range seeds {
		u, err := cz.resolve("", raw)
		if err != nil {
			continue
		}
		// The same functions read the links' hosts, so [::1] matches.
		hosts[authority(u)] = true
		domains[registrable(hostname(u))] = true
	}
	return hosts, domains
}

// seedOrigins returns the origins (scheme, host, port) of the seeds: where
// the Crawler's Header goes.
func seedOrigins(cz *canonicalizer, seeds []string) map[string]bool {
	origins := make(map[string]bool)
	for _, raw := range seeds {
		c, err := cz.resolve("", raw)
		if err != nil {
			continue
		}
		if u, err := url.Parse(c); err == nil {
			origins[sluice.Origin(u)] = true
		}
	}
	return origins
}
