// This file holds the cache of URLs seen recently that a frontier keeping
// its seen-set out of memory (on disk, in Redis) puts in front of it: a
// URL once seen stays seen, so the cache never answers wrong, only not at
// all.

package crawler

import "encoding/binary"

// recentSet holds fingerprints in two generations of at most size each:
// when the newer is full, the older is dropped. Most links a page has were
// seen recently. Its zero value holds nothing and, with size 0, keeps
// nothing. It is not safe for concurrent use.
//
// A generation maps a fingerprint's first 8 bytes to its last 8: a map
// with 8-byte keys takes the runtime's fast path (on the three-process
// Redis crawl of bench/crawl/redis.sh, the cache's lookups were 4% of a
// process's CPU with the 16-byte fingerprint as the key). Two fingerprints
// that share their first 8 bytes keep the one added last: the set forgets
// the other, as it forgets the older generation, and never takes one for
// the other.
type recentSet struct {
	size          int
	recent, older map[uint64]uint64
}

// halves splits a fingerprint into its map key and value.
func halves(fp [16]byte) (uint64, uint64) {
	return binary.LittleEndian.Uint64(fp[:8]), binary.LittleEndian.Uint64(fp[8:])
}

// has reports whether fp is in the set.
func (r *recentSet) has(fp [16]byte) bool {
	k, v := halves(fp)
	if w, ok := r.recent[k]; ok && w == v {
		return true
	}
	w, ok := r.older[k]
	return ok && w == v
}

// add adds fp, dropping the older generation when the newer is full, and
// reports whether that dropped any fingerprint.
func (r *recentSet) add(fp [16]byte) (dropped bool) {
	if r.size <= 0 {
		return false
	}
	if len(r.recent) >= r.size || r.recent == nil {
		dropped = len(r.older) > 0
		r.older, r.recent = r.recent, make(map[uint64]uint64, r.size)
	}
	k, v := halves(fp)
	r.recent[k] = v
	return dropped
}
