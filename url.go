// This file holds the check of the URLs a Fetcher takes.

package sluice

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ParseURL parses a URL to fetch: surrounding spaces are ignored, the scheme
// must be http or https and the host must not be empty.
func ParseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, fmt.Errorf("%w: empty URL", ErrBadURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: invalid URL: %w", ErrBadURL, err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	return u, nil
}

func checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return fmt.Errorf("%w: missing scheme (want http:// or https://)", ErrBadURL)
	default:
		return fmt.Errorf("%w: unsupported scheme %q (want http or https)", ErrBadURL, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: missing host", ErrBadURL)
	}
	return nil
}
