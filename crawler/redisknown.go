// This file holds the RedisFrontier's cache of URLs known seen: links a
// process has already found in the crawl's seen-set are not sent to Redis
// again, which spares Redis most of a page's links on a site whose pages
// link to each other.

package crawler

import (
	"fmt"
	"sync"
)

// knownCache is a recentSet and the mutex that guards it: offer and answer
// hold it for a batch of links.
type knownCache struct {
	mu  sync.Mutex
	set recentSet
}

// linkSet is a batch offered for admission, less the URLs known seen.
type linkSet struct {
	n    int   // URLs offered
	idx  []int // the index in the batch of each URL sent
	send []Entry
	fps  [][16]byte
}

// offer returns the URLs of batch to send to Redis: those the cache does
// not know.
func (f *RedisFrontier) offer(batch []Entry) *linkSet {
	ls := &linkSet{n: len(batch)}
	f.seen.mu.Lock()
	defer f.seen.mu.Unlock()
	for i, e := range batch {
		fp := fingerprint(e.URL)
		if f.seen.set.has(fp) {
			continue
		}
		ls.idx = append(ls.idx, i)
		ls.send = append(ls.send, e)
		ls.fps = append(ls.fps, fp)
	}
	return ls
}

// appendLinks appends the script arguments of the URLs of ls to send:
// host and item of each.
func (f *RedisFrontier) appendLinks(args []any, ls *linkSet) []any {
	for i := range ls.send {
		e := &ls.send[i]
		host := e.host()
		args = append(args, host, appendRedisItem(nil, ls.fps[i], e, host))
	}
	return args
}

// answer checks a script's admission codes for the URLs of ls sent,
// remembers those now in the seen-set, and returns a code for each URL
// offered (admitSeen for those not sent).
func (f *RedisFrontier) answer(ls *linkSet, res []int64) ([]int8, error) {
	if len(res) != len(ls.send) {
		return nil, fmt.Errorf("crawler: redis admit: %d answers for %d URLs", len(res), len(ls.send))
	}
	codes := make([]int8, ls.n)
	f.seen.mu.Lock()
	defer f.seen.mu.Unlock()
	for i, v := range res {
		codes[ls.idx[i]] = int8(v)
		if int8(v) != admitOver {
			f.seen.set.add(ls.fps[i])
		}
	}
	return codes, nil
}
