package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if testBin.dir != "" {
			os.RemoveAll(testBin.dir)
		}
		os.Exit(code)
	}))
}

// testBin is the sluice binary the tests that run it as a child process share:
// built once, on first use, and removed when the tests end.
var testBin struct {
	once      sync.Once
	dir, path string
	err       error
}

// testBinary returns the path of the sluice binary, building it the first
// time.
func testBinary(t *testing.T) string {
	t.Helper()
	testBin.once.Do(func() {
		if testBin.dir, testBin.err = os.MkdirTemp("", "sluice-test-bin"); testBin.err != nil {
			return
		}
		testBin.path = filepath.Join(testBin.dir, "sluice")
		if out, err := exec.Command("go", "build", "-o", testBin.path, ".").CombinedOutput(); err != nil {
			testBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if testBin.err != nil {
		t.Fatal(testBin.err)
	}
	return testBin.path
}
