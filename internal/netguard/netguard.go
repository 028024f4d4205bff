// Package netguard keeps outgoing connections away from private networks.
// A [Guard]'s Control method, set as a net.Dialer's Control, checks the
// address a connection is about to be made to, after DNS resolution, so
// neither a redirect nor a name that resolves to an internal address can
// get around it.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrBlocked is the error, wrapped in a [*BlockedError], of a connection
// the guard refused. Match it with errors.Is.
var ErrBlocked = errors.New("address not allowed")

// BlockedError is the error of a connection the guard refused. It matches
// [ErrBlocked] with errors.Is.
type BlockedError struct {
	// Addr is the refused address.
	Addr netip.Addr
}

// Error names the refused address.
func (e *BlockedError) Error() string {
	return fmt.Sprintf("netguard: %s is not a public address: %v", e.Addr, ErrBlocked)
}

// Is reports whether target is ErrBlocked.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Guard decides which addresses a dialer may connect to. The zero value
// allows only public addresses (see [Public]). A Guard is safe for
// concurrent use as long as its fields are not changed.
type Guard struct {
	// Allow lists prefixes allowed even though they are not public, such as
	// an internal proxy. Nil allows none.
	Allow []netip.Prefix
}

// Check returns nil if addr may be dialled and a [*BlockedError] if not.
func (g *Guard) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	for _, p := range g.Allow {
		if p.Contains(addr) {
			return nil
		}
	}
	if !Public(addr) {
		return &BlockedError{Addr: addr}
	}
	return nil
}

// Control is a net.Dialer Control function: it refuses, before the
// connection is made, any address Check refuses. An address that does not
// parse as IP:port is refused too.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: %s %s: %w", network, address, ErrBlocked)
	}
	return g.Check(ap.Addr())
}

// Dialer returns a copy of d (or a new Dialer if d is nil) whose Control
// runs the guard after any Control d already had.
func (g *Guard) Dialer(d *net.Dialer) *net.Dialer {
	var nd net.Dialer
	if d != nil {
		nd = *d
	}
	prev := nd.Control
	nd.Control = func(network, address string, c syscall.RawConn) error {
		if prev != nil {
			if err := prev(network, address, c); err != nil {
				return err
			}
		}
		return g.Control(network, address, c)
	}
	return &nd
}

// Control is [Guard.Control] of the zero Guard: only public addresses.
func Control(network, address string, c syscall.RawConn) error {
	var g Guard
	return g.Control(network, address, c)
}
