package sessionsvc

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/sqlite"
)

// The fuzz targets of this package take input from outside: the session
// cookie (FuzzLoadCookie), the stored session blob (FuzzBlobCodec,
// FuzzSealedBlob) and config.yaml (FuzzLoadConfig). Their seed corpora are in
// testdata/fuzz/<name>/ and run as part of the ordinary tests.

const fuzzUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// fuzzRing is the keyring of the fuzz targets; fixed, so a corpus entry
// sealed with it keeps opening.
func fuzzRing(t testing.TB) *seal.Keyring {
	t.Helper()
	r, err := seal.New(seal.Key{ID: "fuzz", Secret: bytes.Repeat([]byte{7}, seal.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// cookieFixture is a Service over an in-memory SQLite store with encryption
// on, one live session and one that was signed out.
type cookieFixture struct {
	svc                  *Service
	liveToken, liveSID   string
	endedToken, endedSID string
}

func newCookieFixture(t testing.TB) *cookieFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Security.TrustedProxies = []string{"192.0.2.0/24", "2001:db8::/32"}
	cfg.Security.SecretKey = base64.StdEncoding.EncodeToString(make([]byte, 32))
	cfg.Accounts = []Account{{Username: "ana", Role: RoleAnalyst, PasswordHash: knownArgon2id}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Config: cfg, Store: st, Keys: fuzzRing(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.Close(ctx)
		st.Close()
	})
	fx := &cookieFixture{svc: svc, liveSID: "fuzz-live", endedSID: "fuzz-ended"}
	fx.endedToken = fx.signIn(t, fx.endedSID)
	fx.liveToken = fx.signIn(t, fx.liveSID)

	// Sign the first one out: its token now names a tombstone.
	r, err := svc.Load(fx.request("sc_session="+fx.endedToken, ""))
	if err != nil {
		t.Fatal(err)
	}
	if cur, ok := svc.Current(r.Context()); !ok || cur.SID != fx.endedSID {
		t.Fatalf("fixture: session %s did not load: %+v", fx.endedSID, cur)
	}
	if err := svc.Logout(r.Context()); err != nil {
		t.Fatal(err)
	}
	if err := svc.Save(r.Context(), httptest.NewRecorder()); err != nil {
		t.Fatal(err)
	}
	return fx
}

// signIn starts a session named sid for ana (no password round: argon2 is
// not what is fuzzed) and returns its cookie value.
func (fx *cookieFixture) signIn(t testing.TB, sid string) string {
	t.Helper()
	r, err := fx.svc.Load(fx.request("", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.svc.startSession(r.Context(), r, "ana", "", sid); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := fx.svc.Save(r.Context(), w); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "sc_session" && validToken(c.Value) {
			return c.Value
		}
	}
	t.Fatalf("fixture: sign-in set no session cookie: %v", w.Header())
	return ""
}

func (fx *cookieFixture) request(cookie, xff string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/workspace", nil)
	r.RemoteAddr = "192.0.2.1:4321" // a trusted proxy: X-Forwarded-For is read
	r.Header.Set("User-Agent", fuzzUA)
	r.Header.Set("Accept-Language", "es-PY")
	if cookie != "" {
		r.Header["Cookie"] = []string{cookie}
	}
	if xff != "" {
		r.Header["X-Forwarded-For"] = []string{xff}
	}
	return r
}

// FuzzLoadCookie sends Load a request with an arbitrary Cookie header (and
// X-Forwarded-For, as the client IP is read in the same step). In the header
// "{live}" and "{ended}" stand for the tokens of the fixture's live and
// signed-out sessions, which are random in every run. Load must not fail (the
// store is healthy), and a session comes only from the live token exactly:
// every other cookie yields an anonymous request, the signed-out token with
// its tombstone, and the response then sets no cookie or one that deletes
// the browser's.
func FuzzLoadCookie(f *testing.F) {
	fx := newCookieFixture(f)
	f.Fuzz(func(t *testing.T, cookie, xff string) {
		cookie = strings.ReplaceAll(cookie, "{live}", fx.liveToken)
		cookie = strings.ReplaceAll(cookie, "{ended}", fx.endedToken)
		req := fx.request(cookie, xff)
		var value string
		c, cerr := req.Cookie("sc_session")
		if cerr == nil {
			value = c.Value
		}
		if got, want := validToken(value), tokenShape.MatchString(value); got != want {
			t.Fatalf("validToken(%q) = %v, want %v", value, got, want)
		}

		ip := fx.svc.ClientIP(req)
		if _, err := netip.ParseAddr(ip); err != nil {
			t.Fatalf("ClientIP with X-Forwarded-For %q = %q, not an address", xff, ip)
		}

		r, err := fx.svc.Load(req)
		if err != nil {
			t.Fatalf("Load(cookie %q) = %v", cookie, err)
		}
		ctx := r.Context()
		cur, signedIn := fx.svc.Current(ctx)
		ended, isEnded := fx.svc.Ended(ctx)
		switch {
		case cerr == nil && value == fx.liveToken:
			if !signedIn || cur.SID != fx.liveSID || cur.User != "ana" {
				t.Fatalf("live token: Current = %+v, %v", cur, signedIn)
			}
		case signedIn:
			t.Fatalf("cookie %q (value %q) loaded session %+v", cookie, value, cur)
		case cerr == nil && value == fx.endedToken:
			if !isEnded || ended.SID != fx.endedSID || ended.Reason != store.ReasonLogout {
				t.Fatalf("signed-out token: Ended = %+v, %v", ended, isEnded)
			}
		case isEnded:
			t.Fatalf("cookie %q (value %q) named ended session %+v", cookie, value, ended)
		}

		w := httptest.NewRecorder()
		if err := fx.svc.Save(ctx, w); err != nil {
			t.Fatalf("Save: %v", err)
		}
		for _, sc := range w.Result().Cookies() {
			if sc.Name != "sc_session" {
				t.Fatalf("Save set cookie %q", sc.Name)
			}
			if !signedIn && (sc.Value != "" || sc.MaxAge >= 0) {
				t.Fatalf("anonymous request: Save set %v", sc)
			}
			if signedIn && sc.Value != "" && sc.Value != fx.liveToken {
				t.Fatalf("live session: Save set a new token %v", sc)
			}
		}
		if cerr != nil && len(w.Result().Cookies()) > 0 {
			t.Fatalf("no session cookie, yet Save set %v", w.Result().Cookies())
		}
	})
}

// tokenShape is what validToken accepts: scs's 32 random bytes in base64url.
var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// FuzzBlobCodec decodes arbitrary bytes as a stored session blob. A blob that
// decodes holds a Meta with a sid and a user under metaKey and only strings
// besides, and encoding it gives a blob that decodes to the same.
func FuzzBlobCodec(f *testing.F) {
	var codec blobCodec
	f.Fuzz(func(t *testing.T, b []byte) {
		deadline, values, err := codec.Decode(b)
		if err != nil {
			if !errors.Is(err, errCorruptBlob) {
				t.Fatalf("Decode error %v does not wrap errCorruptBlob", err)
			}
			if values != nil || !deadline.IsZero() {
				t.Fatalf("Decode failed but returned %v, %v", deadline, values)
			}
			return
		}
		m, ok := values[metaKey].(Meta)
		if !ok || m.SID == "" || m.User == "" {
			t.Fatalf("decoded values without session metadata: %#v", values)
		}
		for k, v := range values {
			if _, ok := v.(string); !ok && k != metaKey {
				t.Fatalf("value %q is a %T", k, v)
			}
		}
		if deadline.Location() != time.UTC {
			t.Fatalf("deadline %v not in UTC", deadline)
		}
		again, err := codec.Encode(deadline, values)
		if err != nil {
			t.Fatalf("Encode of decoded blob: %v", err)
		}
		d2, v2, err := codec.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded blob %q: %v", again, err)
		}
		if !d2.Equal(deadline) || !reflect.DeepEqual(v2, values) {
			t.Fatalf("round trip: %v %#v, then %v %#v", deadline, values, d2, v2)
		}
	})
}

// blobMap is a store whose blobs are a map, for FuzzSealedBlob; sealedBlobs
// uses nothing else of it.
type blobMap struct {
	store.Store
	m map[string][]byte
}

func (b blobMap) FindCtx(_ context.Context, th string) ([]byte, bool, error) {
	v, ok := b.m[th]
	return v, ok, nil
}

func (b blobMap) CommitCtx(_ context.Context, th string, v []byte, _ time.Time) error {
	b.m[th] = v
	return nil
}

// FuzzSealedBlob checks the sealed-blob envelope. Arbitrary stored bytes never
// open (they would need the key) and fail as a *blobError that names the
// envelope's sid when the envelope is well formed; a blob committed for any
// sid of 1 to 255 bytes opens to what was committed, and neither under another
// token hash nor once one of its bytes is changed.
func FuzzSealedBlob(f *testing.F) {
	sb := sealedBlobs{Store: blobMap{m: map[string][]byte{}}, ring: fuzzRing(f)}
	inner := sb.Store.(blobMap)
	f.Fuzz(func(t *testing.T, raw []byte, th, sid string, plain []byte, flip uint16) {
		ctx := context.Background()
		clear(inner.m)
		inner.m[th] = raw
		got, ok, err := sb.FindCtx(ctx, th)
		var be *blobError
		if ok || got != nil || !errors.As(err, &be) || !errors.Is(err, errCorruptBlob) {
			t.Fatalf("FindCtx(arbitrary %q) = %q, %v, %v", raw, got, ok, err)
		}
		if len(raw) >= 2 && raw[0] == store.BlobEnvelope && int(raw[1]) <= len(raw)-2 {
			if want := string(raw[2 : 2+int(raw[1])]); be.sid != want {
				t.Fatalf("blobError sid %q, want %q", be.sid, want)
			}
		} else if be.sid != "" {
			t.Fatalf("malformed envelope %q, yet blobError names sid %q", raw, be.sid)
		}

		cctx := store.WithCommit(ctx, store.CommitInfo{SID: sid})
		err = sb.CommitCtx(cctx, th, plain, time.Time{})
		if sid == "" {
			if !errors.Is(err, store.ErrNoCommitInfo) {
				t.Fatalf("CommitCtx without a sid = %v, want ErrNoCommitInfo", err)
			}
			return
		}
		if len(sid) > 255 {
			if err == nil {
				t.Fatalf("CommitCtx with a sid of %d bytes succeeded", len(sid))
			}
			return
		}
		if err != nil {
			t.Fatalf("CommitCtx: %v", err)
		}
		got, ok, err = sb.FindCtx(ctx, th)
		if err != nil || !ok || !bytes.Equal(got, plain) {
			t.Fatalf("FindCtx after CommitCtx = %q, %v, %v; want %q", got, ok, err, plain)
		}
		if _, ok, err := sb.FindCtx(ctx, th+"x"); ok || err != nil {
			t.Fatalf("FindCtx of another token hash = %v, %v", ok, err)
		}
		inner.m[th+"x"] = inner.m[th] // the blob moved to another token
		if _, ok, err := sb.FindCtx(ctx, th+"x"); ok || !errors.As(err, &be) || be.sid != sid {
			t.Fatalf("FindCtx of a blob moved to another token = %v, %v", ok, err)
		}
		delete(inner.m, th+"x")
		env := bytes.Clone(inner.m[th])
		env[int(flip)%len(env)] ^= 1 << (flip >> 13)
		inner.m[th] = env
		if got, ok, err := sb.FindCtx(ctx, th); ok || err == nil {
			t.Fatalf("FindCtx of a changed envelope = %q, %v, %v", got, ok, err)
		}
	})
}

// FuzzLoadConfig loads arbitrary bytes as config.yaml. The result is a config
// or a list of problems, never a panic; a config that loads validates, and
// written back as YAML it loads to the same config.
func FuzzLoadConfig(f *testing.F) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	getenv := env(map[string]string{"FUZZ_KEY": key, "SESSIONCONSOLE_SERVER_LOG_FORMAT": "json"})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfigFile(path, true, getenv)
		if err != nil {
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Fatalf("LoadConfigFile failed (%v) but returned a config", err)
			}
			if !strings.HasPrefix(err.Error(), "sessionsvc: invalid config "+path) || len(problemLines(err)) == 0 {
				t.Fatalf("LoadConfigFile error is not a list of problems: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("loaded config does not validate: %v\n%s", err, data)
		}
		if cfg.Server.LogFormat != "json" {
			t.Fatalf("environment not applied: log_format %q", cfg.Server.LogFormat)
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("yaml.Marshal: %v", err)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := LoadConfigFile(path, true, getenv)
		if err != nil {
			t.Fatalf("config written back does not load: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("config written back loads differently:\n%#v\n%#v\n%s", cfg, again, out)
		}
	})
}
