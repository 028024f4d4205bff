// An error of the package wrapped in another, under one "load:" prefix.

package load

import "strings"

// wrappedError is an error of the package's own under a prefix of the
// package's: its message drops err's "load: ", so that it says "load:"
// once, while errors.Is and errors.As still find err.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }

// wrap returns err under prefix, which starts "load: ", with err's own
// "load: " dropped.
func wrap(prefix string, err error) error {
	return &wrappedError{msg: prefix + ": " + strings.TrimPrefix(err.Error(), "load: "), err: err}
}
