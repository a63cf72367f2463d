package sessionsvc

import (
	"net/http/httptest"
	"testing"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// TestStatePrefetch: the state read with a blob is handed over once, only
// for the sid it was read for, and not after a drop (a write, or the
// response starting); an unmarked request has none.
func TestStatePrefetch(t *testing.T) {
	r := PrefetchState(httptest.NewRequest("GET", "/workspace", nil))
	pf := prefetchFrom(r.Context())
	if pf == nil {
		t.Fatal("PrefetchState set no holder")
	}
	fs := &store.FoundState{SID: "a", Found: true, Doc: store.StateDoc{Version: 7}}
	pf.set("b", fs) // the blob opened for another sid than the state's
	if _, ok := pf.take("a"); ok {
		t.Error("state kept for a blob of another sid")
	}
	pf.set("a", fs)
	if _, ok := pf.take("b"); ok {
		t.Error("state of a handed over for b")
	}
	if got, ok := pf.take("a"); !ok || got.Doc.Version != 7 {
		t.Errorf("take = %+v, %v", got, ok)
	}
	if _, ok := pf.take("a"); ok {
		t.Error("state handed over twice")
	}
	pf.set("a", fs)
	pf.drop()
	if _, ok := pf.take("a"); ok {
		t.Error("state handed over after drop")
	}
	var none *statePrefetch = prefetchFrom(httptest.NewRequest("GET", "/", nil).Context())
	none.set("a", fs)
	none.drop()
	if _, ok := none.take("a"); ok {
		t.Error("an unmarked request has prefetched state")
	}
}
