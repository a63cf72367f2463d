package store

import (
	"errors"
	"testing"
)

// FuzzCursor feeds DecodeCursor arbitrary text, as a page link from the
// browser carries it. It fails only with ErrBadCursor; a cursor it accepts
// names a sid of 1 to 64 bytes and, encoded again, decodes to the same score
// and sid (DecodeCursor tolerates non-canonical base64 and varints, so the
// text itself may differ). Every score and sid that fits encodes to a cursor
// that decodes to them exactly.
func FuzzCursor(f *testing.F) {
	f.Fuzz(func(t *testing.T, cursor string, score int64, sid string) {
		s, id, err := DecodeCursor(cursor)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("DecodeCursor(%q) = %v, want ErrBadCursor", cursor, err)
			}
			if s != 0 || id != "" {
				t.Fatalf("DecodeCursor(%q) failed but returned %d, %q", cursor, s, id)
			}
		} else {
			if len(id) < 1 || len(id) > 64 {
				t.Fatalf("DecodeCursor(%q): sid of %d bytes", cursor, len(id))
			}
			s2, id2, err := DecodeCursor(EncodeCursor(s, id))
			if err != nil || s2 != s || id2 != id {
				t.Fatalf("re-encoded cursor of %q: %d, %q, %v; want %d, %q", cursor, s2, id2, err, s, id)
			}
		}

		c := EncodeCursor(score, sid)
		s, id, err = DecodeCursor(c)
		switch {
		case len(sid) < 1 || len(sid) > 64:
			if err == nil {
				t.Fatalf("cursor %q of a sid of %d bytes decodes", c, len(sid))
			}
		case err != nil || s != score || id != sid:
			t.Fatalf("EncodeCursor(%d, %q) = %q decodes to %d, %q, %v", score, sid, c, s, id, err)
		}
	})
}
