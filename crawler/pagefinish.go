// This file holds how the scheduler finishes a page on a frontier shared
// over the network: the page's finish and the admission of its links go
// out in one step, in the background, and the admission's answer comes
// back to the scheduler's loop as an event, so that the scheduler never
// waits on a round trip per page.

package crawler

import (
	"context"
	"sync"
	"time"
)

// The codes of an admission: a URL seen before, admitted, or new but over
// the crawl's MaxPages.
const (
	admitSeen int8 = iota
	admitNew
	admitOver
)

// pageOpts are the options of a page's finish.
type pageOpts struct {
	maxPages int  // cap on URLs admitted to the crawl, all processes together; 0: none
	uncount  bool // the page no longer counts against maxPages (robots.txt denied it)
}

// pageFinisher is a frontier that takes a page's finish and its links in
// one step and answers through done, from another goroutine or before it
// returns; it never blocks on done. RedisFrontier is one.
type pageFinisher interface {
	finishPage(ctx context.Context, e Entry, s State, links []Entry, o pageOpts, done func(codes []int8, err error))
}

// cappedAdmitter is a frontier that keeps MaxPages for all the crawls
// sharing it. RedisFrontier is one.
type cappedAdmitter interface {
	admitCapped(ctx context.Context, batch []Entry, maxPages int) ([]int8, error)
}

// admitReply is the answer to an admission sent in the background.
type admitReply struct {
	h     *host // the page's host, whose slot the page holds until now
	batch []Entry
	codes []int8
	err   error
}

// replies queues the answers of admissions sent in the background for the
// scheduler's loop. It is safe for concurrent use; put never blocks.
type replies struct {
	mu    sync.Mutex
	q     []admitReply
	ready chan struct{} // has a value while q may be non-empty
}

func newReplies() *replies { return &replies{ready: make(chan struct{}, 1)} }

func (r *replies) put(a admitReply) {
	r.mu.Lock()
	r.q = append(r.q, a)
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

func (r *replies) take() []admitReply {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.q
	r.q = nil
	return q
}

// finishShared finishes a page on a pageFinisher: its links and its finish
// go out together, and the answer comes back through s.replies, which
// frees the page's slot (finishPage holds it till then).
func (s *scheduler) finishShared(store context.Context, pf pageFinisher, r *result) {
	j := r.j
	batch := s.admissible(links(r))
	s.admitting++
	o := pageOpts{maxPages: s.cfg.MaxPages, uncount: j.deniedByRobots()}
	pf.finishPage(store, j.e, r.state, batch, o, func(codes []int8, err error) {
		s.replies.put(admitReply{h: j.h, batch: batch, codes: codes, err: err})
	})
}

// applyReplies applies the answers of the admissions sent in the
// background.
func (s *scheduler) applyReplies() {
	now := time.Now()
	for _, a := range s.replies.take() {
		s.admitting--
		s.free(a.h, now)
		s.applyAdmit(a.batch, a.codes, a.err)
		if a.h != nil {
			s.touch(a.h)
		}
	}
}
