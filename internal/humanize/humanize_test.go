package humanize

import "testing"

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		prec int
		want string
	}{
		{0, 1, "0 B"},
		{1023, 2, "1023 B"},
		{1024, 1, "1.0 KiB"},
		{1536, 2, "1.50 KiB"},
		{5 << 20, 1, "5.0 MiB"},
		{(1 << 30) - 1, 2, "1024.00 MiB"},
		{3 << 30, 2, "3.00 GiB"},
		{-5, 1, "-5 B"},
	} {
		if got := Bytes(tc.n, tc.prec); got != tc.want {
			t.Errorf("Bytes(%d, %d) = %q, want %q", tc.n, tc.prec, got, tc.want)
		}
	}
}
