package redistest

import (
	"context"
	"net"
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

// TestPortTakenByAnother starts a server on a port another redis-server
// holds: start fails, whether its own has exited yet or the other answers
// first. It took the other's answer to PING for its own, and a test then
// shared another test's server.
func TestPortTakenByAnother(t *testing.T) {
	other := Start(t)
	_, port, _ := net.SplitHostPort(other.Addr)
	s := &Server{Addr: other.Addr, Dir: t.TempDir(),
		args: []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}}
	for range 5 {
		if err := s.start(); err == nil {
			s.Kill()
			t.Fatalf("started on %s, which another redis-server holds", other.Addr)
		}
	}
}
