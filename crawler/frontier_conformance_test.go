package crawler_test

import (
	"testing"

	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/frontiertest"
)

func TestMemoryFrontierConformance(t *testing.T) {
	frontiertest.Run(t, func(*testing.T) crawler.Frontier { return &crawler.MemoryFrontier{} })
}

func TestDiskFrontierConformance(t *testing.T) {
	frontiertest.Run(t, func(t *testing.T) crawler.Frontier {
		f, err := crawler.OpenDiskFrontier(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := f.Close(); err != nil {
				t.Error(err)
			}
		})
		return f
	})
}

// TestDiskFrontierStopAndResume: the pages a stop cuts short stay pending
// on disk for the crawl that resumes.
func TestDiskFrontierStopAndResume(t *testing.T) {
	dir := t.TempDir()
	frontiertest.StopAndResume(t, func(t *testing.T) (crawler.Frontier, func() error) {
		f, err := crawler.OpenDiskFrontier(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return f, f.Close
	})
}
