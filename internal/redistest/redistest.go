// Package redistest starts real redis-server processes for tests: each on a
// free loopback port with its own temporary directory, killed with SIGKILL
// and restarted on the same port for fault tests.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binary is the redis-server the tests run; Start skips a test when it is
// absent.
const Binary = "/usr/bin/redis-server"

// Server is a redis-server started by [Start]. Its methods are safe for
// concurrent use.
type Server struct {
	// Addr is the server's address, "127.0.0.1:PORT"; it stays the same
	// across restarts.
	Addr string
	// Dir is the server's working directory (its log, and its AOF or RDB
	// files when the extra arguments turn persistence on).
	Dir string

	args []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a redis-server on a free loopback port in a temporary
// directory, without persistence unless extra arguments ask for it (they
// come after the defaults, so "--appendonly", "yes" overrides them), waits
// until it answers PING and kills it when t ends. It skips t when the
// binary is absent.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("redistest: %s not found (apt-get install redis-server): %v", Binary, err)
	}
	s := &Server{Dir: t.TempDir()}
	var err error
	for range 5 { // a port taken between the probe and the bind: try another
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", s.Dir, "--logfile", "redis.log", "--daemonize", "no",
		}, extra...)
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Kill)
	return s
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(Binary, s.args...)
	cmd.Dir = s.Dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", Binary, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("redis-server on %s exited: %s", s.Addr, s.logTail())
		default:
		}
		if pid, err := serverPID(s.Addr); err == nil {
			if pid == cmd.Process.Pid {
				return nil
			}
			// Another redis-server took the port between the probe and
			// the bind, and ours is about to exit: do not use that one.
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("%s is another redis-server's (pid %d)", s.Addr, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("redis-server on %s did not answer in 10 s: %s", s.Addr, s.logTail())
}

// serverPID asks the redis-server on addr, over a raw connection, for its
// process id (INFO server).
func serverPID(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("INFO server\r\n")); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
	if !strings.HasPrefix(head, "$") || err != nil {
		return 0, fmt.Errorf("INFO answered %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("INFO server names no process_id")
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Kill kills the server with SIGKILL and waits for it to exit; it does
// nothing when the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port and directory, after
// [Server.Kill]; it kills a running server first.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.TryRestart(); err != nil {
		t.Fatal(err)
	}
}

// TryRestart is Restart for a goroutine other than the test's own, which
// may not call t.Fatal: it returns the error instead.
func (s *Server) TryRestart() error {
	s.Kill()
	var err error
	for range 50 { // the port may linger for a moment
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("redistest: restart: %w", err)
}

// URL returns the server's address as a redis:// URL of database db.
func (s *Server) URL(db int) string {
	return fmt.Sprintf("redis://%s/%d", s.Addr, db)
}

// Client returns a client of the server, closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: ping %s: %v", s.Addr, err)
	}
	return c
}
