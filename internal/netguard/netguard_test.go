package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPublic(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.216.34", true},
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001:80b::200e", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"169.254.0.1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"0.1.2.3", false},
		{"100.64.0.1", false},
		{"192.0.2.1", false},
		{"198.18.0.1", false},
		{"203.0.113.9", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"ff02::1", false},
		{"2001:db8::1", false},
		{"2001:0:4136:e378::1", false}, // Teredo
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"64:ff9b::7f00:1", false}, // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false},
		{"2002:a00:1::1", false}, // 6to4 of 10.0.0.1
		{"fec0::1", false},
	} {
		addr := netip.MustParseAddr(tc.addr)
		if got := Public(addr); got != tc.want {
			t.Errorf("Public(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if Public(netip.Addr{}) {
		t.Error("Public(invalid) = true")
	}
}

func TestCheck(t *testing.T) {
	g := Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}
	for _, tc := range []struct {
		addr    string
		blocked bool
	}{
		{"10.1.2.3", false},
		{"::ffff:10.1.2.3", false},
		{"10.2.0.1", true},
		{"127.0.0.1", true},
		{"8.8.4.4", false},
	} {
		err := g.Check(netip.MustParseAddr(tc.addr))
		if got := errors.Is(err, ErrBlocked); got != tc.blocked {
			t.Errorf("Check(%s) = %v, want blocked %v", tc.addr, err, tc.blocked)
		}
		var be *BlockedError
		if tc.blocked && !errors.As(err, &be) {
			t.Errorf("Check(%s) = %T, want *BlockedError", tc.addr, err)
		}
	}
}

func TestControl(t *testing.T) {
	for _, tc := range []struct {
		address string
		blocked bool
	}{
		{"8.8.8.8:53", false},
		{"[2606:4700:4700::1111]:443", false},
		{"127.0.0.1:80", true},
		{"[::1]:80", true},
		{"169.254.169.254:80", true},
		{"[fe80::1%lo]:80", true},
		{"not-an-address", true},
		{"example.com:80", true}, // Control sees resolved addresses only
	} {
		err := Control("tcp", tc.address, nil)
		if got := errors.Is(err, ErrBlocked); got != tc.blocked {
			t.Errorf("Control(%q) = %v, want blocked %v", tc.address, err, tc.blocked)
		}
	}
}

// client returns a client whose connections go through g.
func client(g *Guard) *http.Client {
	tr := &http.Transport{DialContext: g.Dialer(nil).DialContext}
	return &http.Client{Transport: tr}
}

func TestGuardRefusesLoopback(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	c := client(&Guard{})
	defer c.CloseIdleConnections()
	// By address and by a name that resolves to it.
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	for _, u := range []string{ts.URL, fmt.Sprintf("http://localhost:%d/", port)} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s: got a response through the guard", u)
		}
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("GET %s: %v, want ErrBlocked", u, err)
		}
	}
}

// TestGuardRefusesRedirect shows that a redirect from an allowed address to
// a refused one is refused at dial time.
func TestGuardRefusesRedirect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	inner := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the refused server was reached")
	}))
	inner.Listener.Close()
	inner.Listener = ln
	inner.Start()
	defer inner.Close()
	outer := httptest.NewServer(http.RedirectHandler(inner.URL+"/secret", http.StatusFound))
	defer outer.Close()

	c := client(&Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	defer c.CloseIdleConnections()
	resp, err := c.Get(outer.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("redirect to 127.0.0.2 was followed")
	}
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("GET: %v, want ErrBlocked", err)
	}
	// The allowed address itself is reachable.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = c.Get(outer.URL)
	if err != nil {
		t.Fatalf("GET allowed address: %v", err)
	}
	resp.Body.Close()
}

func TestDialerKeepsControl(t *testing.T) {
	called := false
	d := (&Guard{}).Dialer(&net.Dialer{Control: func(string, string, syscall.RawConn) error { called = true; return nil }})
	if err := d.Control("tcp", "8.8.8.8:53", nil); err != nil || !called {
		t.Fatalf("Control = %v, previous called %v", err, called)
	}
	if err := d.Control("tcp", "127.0.0.1:53", nil); !errors.Is(err, ErrBlocked) {
		t.Fatalf("Control(loopback) = %v", err)
	}
}
