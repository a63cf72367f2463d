package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// signedIn returns a signed-in browser of user and its new session's sid.
func signedIn(t *testing.T, a *app, user string) (*browser, string) {
	t.Helper()
	before := map[string]bool{}
	for _, r := range sessionsOf(t, a, user) {
		before[r.SID] = true
	}
	b := a.browser()
	b.login(user)
	for _, r := range sessionsOf(t, a, user) {
		if !before[r.SID] {
			return b, r.SID
		}
	}
	t.Fatalf("no new session of %s after sign-in", user)
	return nil, ""
}

func TestStateNoLostUpdates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		_, sid := signedIn(t, a, "ana")
		ctx := context.Background()
		before, err := a.Svc.StateCategory(ctx, sid, store.CatAnalysisData)
		if err != nil {
			t.Fatal(err)
		}

		// 50 writers, each its own key.
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				if _, err := a.Svc.SetStateValue(ctx, sid, store.CatAnalysisData, fmt.Sprintf("k%02d", i), i); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := a.Svc.StateCategory(ctx, sid, store.CatAnalysisData)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			if v := string(got.Values[fmt.Sprintf("k%02d", i)]); v != fmt.Sprint(i) {
				t.Errorf("key k%02d = %q, want %d", i, v, i)
			}
		}
		if got.Version != before.Version+50 {
			t.Errorf("version %d, want %d", got.Version, before.Version+50)
		}

		// 50 incrementers of one key through the versioned update, with retry.
		// (A store timeout would be ambiguous — the write may have landed — so
		// the harness gives the store a generous timeout; any error fails.)
		var conflicts sync.WaitGroup
		for range 50 {
			conflicts.Go(func() {
				for {
					c, err := a.Svc.StateCategory(ctx, sid, store.CatUIState)
					if err != nil {
						t.Error(err)
						return
					}
					var n int
					json.Unmarshal(c.Values["counter"], &n)
					_, err = a.Svc.UpdateState(ctx, sid, store.CatUIState, c.Version, map[string]any{"counter": n + 1}, nil)
					if errors.Is(err, sessionsvc.ErrVersionConflict) {
						continue
					}
					if err != nil {
						t.Error(err)
					}
					return
				}
			})
		}
		conflicts.Wait()
		v, _, err := a.Svc.StateValue(ctx, sid, store.CatUIState, "counter")
		if err != nil || string(v) != "50" {
			t.Fatalf("counter = %s (%v), want 50", v, err)
		}
	})
}

func TestStateRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be, func(c *sessionsvc.Config) { c.Session.MaxStateKB = 4; c.Session.Snapshots = 3 })
		_, sid := signedIn(t, a, "ana")
		ctx := context.Background()

		st, err := a.Svc.State(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		for cat, want := range map[string]string{
			store.CatUserData:     `"uploaded_files":[]`,
			store.CatAnalysisData: `"processing_status":"idle"`,
			store.CatUIState:      `"current_page":"upload"`,
			store.CatPreferences:  `"locale":"es-PY"`,
		} {
			b, _ := json.Marshal(st.Categories[cat].Values)
			if !strings.Contains(string(b), want) {
				t.Errorf("default %s = %s, want it to contain %s", cat, b, want)
			}
		}
		if ctxRec := string(st.Categories[store.CatUserData].Values["context"]); !strings.Contains(ctxRec, `"user_agent":"Mozilla`) {
			t.Errorf("context record = %s", ctxRec)
		}

		if _, err := a.Svc.SetStateValue(ctx, sid, "secrets", "x", 1); !errors.Is(err, sessionsvc.ErrUnknownCategory) {
			t.Errorf("unknown category: %v", err)
		}
		if _, err := a.Svc.SetStateValue(ctx, sid, store.CatTemporaryData, "big", strings.Repeat("x", 5000)); !errors.Is(err, sessionsvc.ErrStateTooLarge) {
			t.Errorf("over the limit: %v", err)
		}
		v0, _ := a.Svc.StateCategory(ctx, sid, store.CatUserData)
		v1, err := a.Svc.SetStateValue(ctx, sid, store.CatUserData, "note", "one")
		if err != nil {
			t.Fatal(err)
		}
		if v1.Category != v0.Version+1 || v1.State <= st.Version || !v1.LastModified.Equal(a.Clock.Now()) {
			t.Errorf("versions after update = %+v (category was %d, state %d)", v1, v0.Version, st.Version)
		}
		if _, err := a.Svc.UpdateState(ctx, sid, store.CatUserData, v0.Version, map[string]any{"note": "stale"}, nil); !errors.Is(err, sessionsvc.ErrVersionConflict) {
			t.Errorf("stale versioned update: %v", err)
		}
		rec := sessionsOf(t, a, "ana")[0]
		if rec.StateVersion != v1.State {
			t.Errorf("registry state_version = %d, want %d", rec.StateVersion, v1.State)
		}

		// Snapshots: kept before each user_data update, newest first, at most 3.
		for _, note := range []string{"two", "three", "four", "five"} {
			if _, err := a.Svc.SetStateValue(ctx, sid, store.CatUserData, "note", note); err != nil {
				t.Fatal(err)
			}
		}
		snaps, err := a.Svc.Snapshots(ctx, sid, store.CatUserData)
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) != 3 || string(snaps[0].Values["note"]) != `"four"` {
			t.Fatalf("snapshots = %d, newest note %s; want 3, \"four\"", len(snaps), snaps[0].Values["note"])
		}
		if ui, _ := a.Svc.Snapshots(ctx, sid, store.CatUIState); len(ui) != 0 {
			t.Errorf("ui_state took %d snapshots, want none", len(ui))
		}
		restored, err := a.Svc.RestoreSnapshot(ctx, sid, store.CatUserData, snaps[1].Version)
		if err != nil {
			t.Fatal(err)
		}
		cur, _ := a.Svc.StateCategory(ctx, sid, store.CatUserData)
		if string(cur.Values["note"]) != `"three"` || restored.Category != cur.Version || cur.Version <= snaps[0].Version {
			t.Errorf("after restore note = %s version %d", cur.Values["note"], cur.Version)
		}
	})
}

func TestPreferencesCarryOver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b, sid := signedIn(t, a, "ana")
		if _, err := a.Svc.SetStateValue(context.Background(), sid, store.CatPreferences, "theme", "dark"); err != nil {
			t.Fatal(err)
		}
		b.post("/logout", urlValues("csrf_token", b.csrf()))
		c := a.browser()
		c.Lang = "en-US,en;q=0.8"
		c.login("ana")
		sid2 := sessionsOf(t, a, "ana")[0].SID
		v, _, err := a.Svc.StateValue(context.Background(), sid2, store.CatPreferences, "theme")
		if err != nil || string(v) != `"dark"` {
			t.Fatalf("next session's theme = %s (%v), want dark", v, err)
		}
		// A user without saved preferences gets the browser's locale.
		_, sid3 := signedIn(t, a, "olga")
		if v, _, _ := a.Svc.StateValue(context.Background(), sid3, store.CatPreferences, "locale"); string(v) != `"es-PY"` {
			t.Errorf("olga's locale = %s", v)
		}
	})
}
