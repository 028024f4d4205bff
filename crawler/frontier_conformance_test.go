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
