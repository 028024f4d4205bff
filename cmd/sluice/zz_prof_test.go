package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestZZProf(t *testing.T) {
	args := os.Getenv("ZZ_ARGS")
	if args == "" {
		t.Skip()
	}
	code, _, e := runFetchCLI(context.Background(), "", strings.Fields(args)...)
	t.Logf("exit %d: %s", code, e)
}
