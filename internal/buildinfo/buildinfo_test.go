package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	dep := func(path, v string, replace *debug.Module) *debug.Module {
		return &debug.Module{Path: path, Version: v, Replace: replace}
	}
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"sluice's own binary", debug.BuildInfo{Main: debug.Module{Path: ModulePath, Version: "v1.2.3"}}, "v1.2.3"},
		{"sluice's own, from a checkout", debug.BuildInfo{Main: debug.Module{Path: ModulePath, Version: "(devel)"}}, "devel"},
		{"a dependency", debug.BuildInfo{Main: debug.Module{Path: "example.com/app", Version: "v9.0.0"},
			Deps: []*debug.Module{dep("golang.org/x/time", "v0.16.0", nil), dep(ModulePath, "v0.4.0", nil)}}, "v0.4.0"},
		{"a dependency replaced by a version", debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{dep(ModulePath, "v0.4.0", dep("example.com/fork", "v0.4.1", nil))}}, "v0.4.1"},
		{"a dependency replaced by a folder", debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{dep(ModulePath, "v0.0.0-00010101000000-000000000000", dep("../", "", nil))}}, "devel"},
		{"not linked in", debug.BuildInfo{Main: debug.Module{Path: "example.com/app", Version: "v9.0.0"}}, "devel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := version(&tc.bi); got != tc.want {
				t.Fatalf("version = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUserAgent(t *testing.T) {
	// A test binary is built from the checkout: no version recorded.
	if got, want := UserAgent(), "sluice/devel (+https://github.com/sluicehq/sluice)"; got != want {
		t.Fatalf("UserAgent = %q, want %q", got, want)
	}
	if !strings.HasPrefix(UserAgent(), "sluice/"+Version()+" ") {
		t.Fatalf("UserAgent %q does not carry Version %q", UserAgent(), Version())
	}
}
