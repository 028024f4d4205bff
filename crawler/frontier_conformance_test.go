package crawler_test

import (
	"testing"

	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/frontiertest"
)

func TestMemoryFrontierConformance(t *testing.T) {
	frontiertest.Run(t, func(*testing.T) crawler.Frontier { return &crawler.MemoryFrontier{} })
}
