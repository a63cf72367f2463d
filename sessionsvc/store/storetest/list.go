package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// listAll pages through q at now with the given limit and returns every
// record in order. It checks on every page that Total is want total and that
// only the last page has an empty Next.
func listAll(t *testing.T, s store.Store, q store.Query, now time.Time) (recs []store.Record, total int) {
	t.Helper()
	total = -1
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("List %+v: more than 1000 pages, cursor loops", q)
		}
		page, err := s.List(t.Context(), q, now)
		if err != nil {
			t.Fatalf("List %+v (page %d): %v", q, pages+1, err)
		}
		if total >= 0 && page.Total != total {
			t.Errorf("List %+v page %d: Total = %d, page 1 said %d", q, pages+1, page.Total, total)
		}
		total = page.Total
		recs = append(recs, page.Records...)
		if page.Next == "" {
			return recs, total
		}
		if len(page.Records) == 0 {
			t.Fatalf("List %+v page %d: no records but Next = %q", q, pages+1, page.Next)
		}
		q.Cursor = page.Next
	}
}

// wantOrder fails the test unless listing q at now (all pages) yields want,
// in order, with Total == len(want).
func wantOrder(t *testing.T, s store.Store, q store.Query, now time.Time, want []string) {
	t.Helper()
	recs, total := listAll(t, s, q, now)
	if got := sids(recs); !slices.Equal(got, want) {
		t.Errorf("List sort %q filter %+v: got %v, want %v", q.Sort, q.Filter, got, want)
	}
	if total != len(want) {
		t.Errorf("List sort %q filter %+v: Total = %d, want %d", q.Sort, q.Filter, total, len(want))
	}
}
