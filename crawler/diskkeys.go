// This file holds the DiskFrontier's key layout and value encodings.

package crawler

import (
	"encoding/binary"
	"errors"
)

// The DiskFrontier's keys. One byte says the kind; the rest:
//
//	m<name>                crawl metadata (format version, config, output length, …)
//	s<fp:16>               a URL's state; Done and Failed carry the URL, parent and
//	                       depth, and the validators of its fetch: status, ETag,
//	                       Last-Modified (format 1 kept them under v<fp:16>)
//	q<host>\x00<seq:8>     a pending URL in its host's queue, in admission order
//	r<fp:16>               a URL whose record is committed and that is not Done yet
//	b<host>                a host's robots.txt: when it was fetched, and its body
//
// The copies of the records file's bytes that a commit keeps until the
// file is synced are log data, not keys (see disktail.go).
// A URL handed out by Pop keeps its queue key until it is finished, so
// whatever is in flight when the process dies is pending when the store is
// opened again.
const (
	kindMeta     = 'm'
	kindState    = 's'
	kindQueue    = 'q'
	kindRecorded = 'r'
	kindRobots   = 'b'
)

// errCorruptValue is the error of a stored value that does not decode.
var errCorruptValue = errors.New("crawler: state dir: corrupt value")

func metaKey(name string) []byte { return append([]byte{kindMeta}, name...) }

func stateKey(fp [16]byte) []byte { return append([]byte{kindState}, fp[:]...) }

func recordedKey(fp [16]byte) []byte { return append([]byte{kindRecorded}, fp[:]...) }

// queuePrefix is the prefix of host's queue keys; queueEnd bounds them.
func queuePrefix(host string) []byte {
	return appendQueuePrefix(make([]byte, 0, len(host)+10), host)
}

func appendQueuePrefix(b []byte, host string) []byte {
	b = append(b, kindQueue)
	b = append(b, host...)
	return append(b, 0)
}

func queueEnd(host string) []byte {
	b := queuePrefix(host)
	b[len(b)-1] = 1
	return b
}

func queueKey(host string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(queuePrefix(host), seq)
}

// appendQueueKey appends host's queue key of seq to b, for a caller that
// reuses its buffer.
func appendQueueKey(b []byte, host string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(appendQueuePrefix(b, host), seq)
}

// queueSeq returns the sequence number at the end of a queue key.
func queueSeq(key []byte) uint64 {
	return binary.BigEndian.Uint64(key[len(key)-8:])
}

// deniedState is how a state dir stores the Failed state of a URL that
// robots.txt denied (format 5 on): such a URL gets its record but does
// not use up MaxPages, in a resumed crawl as in the run that denied it.
// The DiskFrontier keeps it as is inside, and gives it as Failed.
const deniedState = Failed | 0x80

// public returns s as a Frontier gives it: deniedState is Failed.
func (s State) public() State {
	if s == deniedState {
		return Failed
	}
	return s
}

// appendDone encodes the state of a finished URL with what a recrawl needs
// to queue it again and to ask whether it changed: its entry and, if not
// nil, its validators. They share the state's key: a key of their own
// cost every page one more insert into Pebble's memtable, the durable
// crawl's hottest code (BenchmarkDiskFrontierPage, six runs alternating:
// 17.7 µs a page at best with the key, 14.4 µs without; medians 18.7 and
// 16.7).
func appendDone(b []byte, s State, e *Entry, v *Validators) []byte {
	b = append(b, byte(s))
	b = binary.AppendUvarint(b, uint64(e.Depth))
	b = appendStripped(b, e.URL, "")
	b = appendStripped(b, e.Parent, "")
	if v != nil {
		b = appendValidators(b, v)
	}
	return b
}

// decodeDone decodes what appendDone wrote; ok is false for a pending URL's
// state, which carries no entry, and v is nil when it carries no
// validators.
func decodeDone(c []byte) (s State, e Entry, v *Validators, ok bool, err error) {
	if len(c) == 0 {
		return 0, e, nil, false, errCorruptValue
	}
	s = State(c[0])
	if len(c) == 1 {
		return s, e, nil, false, nil
	}
	defer func() {
		if recover() != nil {
			err = errCorruptValue
		}
	}()
	d, k := binary.Uvarint(c[1:])
	if k <= 0 {
		return s, e, nil, false, errCorruptValue
	}
	e.Depth = int(d)
	n := 1 + k
	e.URL, n = readStripped(c, n, "")
	e.Parent, n = readStripped(c, n, "")
	if n < len(c) {
		val, _, err := decodeValidators(c[n:])
		if err != nil {
			return s, e, nil, false, err
		}
		v = &val
	}
	return s, e, v, true, nil
}

// Validators are what a server said about a fetched page that lets a later
// fetch ask whether it changed: its status, ETag and Last-Modified, and a
// digest of what it sent, for a server that gives neither header or
// answers a conditional request with the whole page again. The zero value
// is a failed fetch's: no answer, no validators.
type Validators struct {
	// Status is the HTTP status of the fetch; 0 means it failed.
	Status int
	// ETag is the ETag header, "" if none.
	ETag string
	// LastModified is the Last-Modified header, "" if none.
	LastModified string
	// Digest is a 64-bit hash of the answer (see [PageDigest]); 0 means
	// none was kept.
	Digest uint64
}

// digestFlag, set in a stored status, says that a digest follows the
// validators' headers. Format 3 kept no digest and never sets it, so its
// values read as they were written.
const digestFlag = 1 << 20

func appendValidators(b []byte, v *Validators) []byte {
	status := uint64(v.Status)
	if v.Digest != 0 {
		status |= digestFlag
	}
	b = binary.AppendUvarint(b, status)
	b = appendStripped(b, v.ETag, "")
	b = appendStripped(b, v.LastModified, "")
	if v.Digest != 0 {
		b = binary.BigEndian.AppendUint64(b, v.Digest)
	}
	return b
}

// decodeValidators decodes what appendValidators wrote at the start of c,
// and returns how many bytes of c it took.
func decodeValidators(c []byte) (v Validators, n int, err error) {
	defer func() {
		if recover() != nil {
			err = errCorruptValue
		}
	}()
	s, n := binary.Uvarint(c)
	if n <= 0 {
		return v, 0, errCorruptValue
	}
	v.Status = int(s &^ digestFlag)
	v.ETag, n = readStripped(c, n, "")
	v.LastModified, n = readStripped(c, n, "")
	if s&digestFlag != 0 {
		if len(c) < n+8 {
			return v, 0, errCorruptValue
		}
		v.Digest = binary.BigEndian.Uint64(c[n:])
		n += 8
	}
	return v, n, nil
}
