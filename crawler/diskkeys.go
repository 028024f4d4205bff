// This file holds the DiskFrontier's key layout and value encodings.

package crawler

import (
	"encoding/binary"
	"errors"
)

// The DiskFrontier's keys. One byte says the kind; the rest:
//
//	m<name>                crawl metadata (format version, config, output length, …)
//	s<fp:16>               a URL's state; Done and Failed carry the URL, parent and depth
//	q<host>\x00<seq:8>     a pending URL in its host's queue, in admission order
//	v<fp:16>               the validators of a fetched URL: status, ETag, Last-Modified
//	r<fp:16>               a URL whose record is committed and that is not Done yet
//	b<host>                a host's robots.txt: when it was fetched, and its body
//	t<offset:8>            the output's bytes from offset, until the output is synced past them
//
// A URL handed out by Pop keeps its queue key until it is finished, so
// whatever is in flight when the process dies is pending when the store is
// opened again.
const (
	kindMeta       = 'm'
	kindState      = 's'
	kindQueue      = 'q'
	kindValidators = 'v'
	kindRecorded   = 'r'
	kindRobots     = 'b'
	kindTail       = 't'
)

// errCorruptValue is the error of a stored value that does not decode.
var errCorruptValue = errors.New("crawler: state dir: corrupt value")

func metaKey(name string) []byte { return append([]byte{kindMeta}, name...) }

func stateKey(fp [16]byte) []byte { return append([]byte{kindState}, fp[:]...) }

func validatorsKey(fp [16]byte) []byte { return append([]byte{kindValidators}, fp[:]...) }

func recordedKey(fp [16]byte) []byte { return append([]byte{kindRecorded}, fp[:]...) }

// queuePrefix is the prefix of host's queue keys; queueEnd bounds them.
func queuePrefix(host string) []byte {
	b := make([]byte, 0, len(host)+10)
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

// queueSeq returns the sequence number at the end of a queue key.
func queueSeq(key []byte) uint64 {
	return binary.BigEndian.Uint64(key[len(key)-8:])
}

// appendDone encodes the state of a finished URL with what a recrawl needs
// to queue it again.
func appendDone(b []byte, s State, e *Entry) []byte {
	b = append(b, byte(s))
	b = binary.AppendUvarint(b, uint64(e.Depth))
	b = appendStripped(b, e.URL, "")
	return appendStripped(b, e.Parent, "")
}

// decodeDone decodes what appendDone wrote; ok is false for a pending URL's
// state, which carries no entry.
func decodeDone(c []byte) (s State, e Entry, ok bool, err error) {
	if len(c) == 0 {
		return 0, e, false, errCorruptValue
	}
	s = State(c[0])
	if len(c) == 1 {
		return s, e, false, nil
	}
	defer func() {
		if recover() != nil {
			err = errCorruptValue
		}
	}()
	d, k := binary.Uvarint(c[1:])
	if k <= 0 {
		return s, e, false, errCorruptValue
	}
	e.Depth = int(d)
	n := 1 + k
	e.URL, n = readStripped(c, n, "")
	e.Parent, _ = readStripped(c, n, "")
	return s, e, true, nil
}

// Validators are what a server said about a fetched page that lets a later
// fetch ask whether it changed: its status, ETag and Last-Modified.
type Validators struct {
	// Status is the HTTP status of the fetch; 0 means it failed.
	Status int
	// ETag is the ETag header, "" if none.
	ETag string
	// LastModified is the Last-Modified header, "" if none.
	LastModified string
}

func appendValidators(b []byte, v *Validators) []byte {
	b = binary.AppendUvarint(b, uint64(v.Status))
	b = appendStripped(b, v.ETag, "")
	return appendStripped(b, v.LastModified, "")
}

func decodeValidators(c []byte) (v Validators, err error) {
	defer func() {
		if recover() != nil {
			err = errCorruptValue
		}
	}()
	s, k := binary.Uvarint(c)
	if k <= 0 {
		return v, errCorruptValue
	}
	v.Status = int(s)
	v.ETag, k = readStripped(c, k, "")
	v.LastModified, _ = readStripped(c, k, "")
	return v, nil
}
