package main

import (
	"context"
	"errors"
	"io"
)

func runFetch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("fetch: not built yet")
}
