// This file holds the visit workers: they count each page in Stats, call
// visit and report the outcome to the scheduler.

package crawler

import (
	"errors"
	"time"
)

// visitWorker calls visit and reports each page to the scheduler.
func (p *pipeline) visitWorker() {
	for w := range p.visitCh {
		r := &result{j: w.j, state: w.state}
		page := w.page
		if page.Err != nil {
			r.state = Failed
		}
		if page.Err != nil && p.durable && errors.Is(page.Err, errStopped) {
			// Cut short by the stop: a crawl that resumes from the
			// frontier fetches it.
			r.requeue = true
		} else if !p.stopped.Load() {
			p.c.update(func(st *Stats) {
				st.Pages++
				if page.Response != nil {
					st.Fetched++
					st.StatusCodes[page.Response.StatusCode]++
					st.Bytes += int64(len(page.Response.Body))
				}
				if page.Err != nil {
					st.Errors[errKind(page.Err)]++
				}
			})
			page.pl, page.cz = p, p.cz
			err := p.call(page)
			page.pl = nil // Follow after visit returns is refused
			switch {
			case err == nil:
				r.follow = append(w.follow, page.follows...)
				r.redirect = w.redir
			case errors.Is(err, SkipLinks):
				r.follow = page.follows // what visit asked for explicitly
			default:
				// The page's links still go to the frontier, pending: a
				// crawl that resumes from it must not lose the URLs only
				// this page links to.
				p.stopped.Store(true)
				r.stop = err
				r.follow = append(w.follow, page.follows...)
				r.redirect = w.redir
			}
		} else {
			r.requeue = true
		}
		if w.charged > 0 {
			p.budget.Release(w.charged)
		}
		p.s.results <- r
	}
}

// call runs visit, timing it and turning a panic into an error.
func (p *pipeline) call(page *Page) (err error) {
	start := time.Now()
	defer func() {
		d := time.Since(start)
		if v := recover(); v != nil {
			err = panicError(v)
		}
		slow := p.cfg.slowVisit > 0 && d > p.cfg.slowVisit
		p.c.update(func(st *Stats) {
			st.VisitTime += d
			if slow {
				st.SlowVisits++
			}
		})
		if slow {
			now := time.Now().UnixNano()
			if last := p.lastSlow.Load(); now-last >= int64(time.Second) && p.lastSlow.CompareAndSwap(last, now) {
				p.cfg.logger.Warn("crawler: slow visit callback", "url", page.URL, "duration", d.Round(time.Millisecond))
			}
		}
	}()
	return p.visit(page)
}
