package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/hostile"
)

// TestErrorKindSameEverywhere checks that one failure, a refused
// connection, is named the same in fetch and crawl records and in the
// errors of a load report.
func TestErrorKindSameEverywhere(t *testing.T) {
	url := hostile.RefusedURL(t)
	const want = "connect"

	code, out, errOut := runFetchCLI(context.Background(), url+"\n", "fetch")
	if code != 1 {
		t.Fatalf("fetch: exit %d: %s", code, errOut)
	}
	if recs := decodeRecords(t, out); len(recs) != 1 || recs[0].ErrorKind != want {
		t.Errorf("fetch records %+v, want one with error_kind %q", recs, want)
	}

	code, out, errOut = runCLI(context.Background(), "crawl", "--robots=false", url)
	if code != 1 {
		t.Fatalf("crawl: exit %d: %s", code, errOut)
	}
	if recs := decodeCrawl(t, out); len(recs) != 1 || recs[0].ErrorKind != want {
		t.Errorf("crawl records %+v, want one with error_kind %q", recs, want)
	}

	jsonFile := filepath.Join(t.TempDir(), "r.json")
	if code, _, errOut = runCLI(context.Background(), "load", "-n", "3", "--json", jsonFile, url); code != 1 {
		t.Fatalf("load: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Errors map[string]int64 }
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Errors[want] != 3 || len(rep.Errors) != 1 {
		t.Errorf("load errors %v, want %d of %q", rep.Errors, 3, want)
	}
}
