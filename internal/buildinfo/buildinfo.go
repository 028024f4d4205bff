// Package buildinfo names the version of sluice a binary was built with,
// so that the library, load and the CLI send one User-Agent.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// ModulePath is the path of the sluice module.
const ModulePath = "github.com/sluicehq/sluice"

// Version returns the version of the sluice module in the running binary,
// as the Go toolchain recorded it: the main module's when the binary is
// sluice's own, the dependency's otherwise (its replacement's, if it is
// replaced). It is "devel" when no version is known (a build from a
// checkout, a test, a replacement by a folder). It is computed once.
func Version() string { return buildVersion() }

var buildVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return version(bi)
})

func version(bi *debug.BuildInfo) string {
	m := &bi.Main
	if m.Path != ModulePath {
		m = nil
		for _, d := range bi.Deps {
			if d.Path == ModulePath {
				m = d
				break
			}
		}
	}
	if m == nil {
		return "devel"
	}
	if m.Replace != nil {
		m = m.Replace
	}
	if m.Version == "" || m.Version == "(devel)" {
		return "devel"
	}
	return m.Version
}

// UserAgent returns the default User-Agent of sluice's fetches, crawls and
// load runs: the product token "sluice" (which robots.txt groups match)
// and [Version].
func UserAgent() string {
	return "sluice/" + Version() + " (+https://github.com/sluicehq/sluice)"
}
