package crawler

import "testing"

func TestMediaType(t *testing.T) {
	tests := []struct {
		ct   string
		body string
		want string
	}{
		{"text/html; charset=utf-8", "", "text/html"},
		{" Application/XHTML+XML ;q=1", "<html>", "application/xhtml+xml"},
		{"", "<!DOCTYPE html><html></html>", "text/html"},
		{"", "plain words", "text/plain"},
		{"", "", ""}, // a 304 or a 204: no body to sniff
	}
	for _, tc := range tests {
		if got := mediaType(tc.ct, []byte(tc.body)); got != tc.want {
			t.Errorf("mediaType(%q, %q) = %q, want %q", tc.ct, tc.body, got, tc.want)
		}
	}
}
