package redistest

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestKillRestart(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		survive bool // the key is still there after the restart
	}{
		{"no persistence", nil, false},
		{"aof", []string{"--appendonly", "yes", "--appendfsync", "always"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := Start(t, tt.args...)
			c := s.Client(t)
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			s.Kill()
			if err := c.Ping(ctx).Err(); err == nil {
				t.Fatal("ping answered after Kill")
			}
			s.Restart(t)
			v, err := c.Get(ctx, "k").Result()
			if got := err == nil && v == "v"; got != tt.survive {
				t.Fatalf("after restart: %q, %v; want survive=%v", v, err, tt.survive)
			}
		})
	}
}
