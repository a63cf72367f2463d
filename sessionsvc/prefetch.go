package sessionsvc

import (
	"context"
	"net/http"
	"sync"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// A page that shows the session's state would cost two store round trips:
// the blob (Load), then the state (State). PrefetchState marks such a
// request, and on a store that is a store.StateFinder (Redis) Load reads
// both in one: the state read then is handed to the request's first State
// call for that session, unless the request wrote state in between. The
// state is used only once the blob has opened (authenticated) for the sid
// it was read for, at most once, and not after the response began (Save),
// so nothing that outlives the request (a worker holding its context) can
// see it.

type prefetchKey struct{}

// statePrefetch is what Load read beyond the blob for one request.
type statePrefetch struct {
	mu    sync.Mutex
	sid   string // the session whose state it is; "" until the blob opened
	state *store.FoundState
}

// PrefetchState marks r as a request whose handler reads the session's
// state (see above). Call it before Load.
func PrefetchState(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), prefetchKey{}, &statePrefetch{}))
}

func prefetchFrom(ctx context.Context) *statePrefetch {
	p, _ := ctx.Value(prefetchKey{}).(*statePrefetch)
	return p
}

// set keeps the state read with a blob that opened for sid.
func (p *statePrefetch) set(sid string, fs *store.FoundState) {
	if p == nil || fs == nil || fs.SID != sid {
		return
	}
	p.mu.Lock()
	p.sid, p.state = sid, fs
	p.mu.Unlock()
}

// take hands over the state of sid, once; ok is false when there is none.
func (p *statePrefetch) take(sid string) (fs *store.FoundState, ok bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil || p.sid != sid {
		return nil, false
	}
	fs, p.state = p.state, nil
	return fs, true
}

// drop forgets the state: it was written, or the request is answering.
func (p *statePrefetch) drop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.state = nil
	p.mu.Unlock()
}
