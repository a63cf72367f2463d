package sessionsvc

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// BackgroundHeader marks requests the browser makes on its own (htmx polling,
// SSE): they neither refresh the session nor count as activity. The views set it.
const BackgroundHeader = "X-Background"

// DeadlineHeader carries the session's deadline (unix ms) on every signed-in
// response, so the page's expiry warning follows refreshes made by htmx.
const DeadlineHeader = "X-Session-Deadline"

type cookieSpec struct {
	name   string
	secure bool
}

// reqState is the session as this request sees it. Save reads it once, when the
// response starts, to decide what to write.
type reqState struct {
	mu        sync.Mutex
	meta      *Meta // nil: anonymous
	touch     *store.Touch
	ended     *store.Tombstone // the session the cookie named has ended, and why
	hadCookie bool
	clear     bool // send a cookie that deletes the browser's
	saved     bool
	dirty     bool // meta changed: the blob must be written
	newToken  bool // the browser must be sent a new token
	ip        string
}

type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// Current is the signed-in session of a request.
type Current struct {
	SID       string
	User      string
	Role      string
	CSRFToken string
	CreatedAt time.Time
	AuthAt    time.Time // when the user last gave their password
	Deadline  time.Time // the earliest of the three clocks
	Theme     string    // "light", "dark", "system", or "" (never chosen)
	Locale    string    // "es-PY", "en", or "" (a session from before locales were kept)
}

// Current returns the request's signed-in session.
func (s *Service) Current(ctx context.Context) (Current, bool) {
	st := stateFrom(ctx)
	if st == nil {
		return Current{}, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.meta == nil {
		return Current{}, false
	}
	m := st.meta
	return Current{SID: m.SID, User: m.User, Role: m.Role, CSRFToken: m.CSRF,
		CreatedAt: fromMS(m.CreatedAt), AuthAt: fromMS(m.AuthAt), Deadline: m.deadline(), Theme: m.Theme, Locale: m.Locale}, true
}

// Ended returns why the session the request's cookie named has ended, when it
// has. The login page shows it; Forget then drops the cookie.
func (s *Service) Ended(ctx context.Context) (store.Tombstone, bool) {
	st := stateFrom(ctx)
	if st == nil {
		return store.Tombstone{}, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ended == nil {
		return store.Tombstone{}, false
	}
	return *st.ended, true
}

// Forget makes the response delete the browser's session cookie.
func (s *Service) Forget(ctx context.Context) {
	if st := stateFrom(ctx); st != nil {
		st.mu.Lock()
		if st.hadCookie {
			st.clear = true
		}
		st.mu.Unlock()
	}
}

// IsBackground reports whether the browser made the request on its own.
func IsBackground(r *http.Request) bool {
	return r.Header.Get(BackgroundHeader) != "" || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// validToken is the shape of an scs token: 32 random bytes, base64url, 43 chars.
func validToken(t string) bool { return len(t) == 43 && base64URL(t) }

// ValidSID reports whether s has the shape of a sid: 1 to 64 base64url
// characters. Handlers check it before a sid reaches the store.
func ValidSID(s string) bool { return len(s) > 0 && len(s) <= 64 && base64URL(s) }

func base64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Load reads the session named by the request's cookie and checks it: its three
// clocks, its account, its fingerprint and (with ip_validation) its client IP.
// A session that fails a check is ended for good here, with its reason. The
// returned request carries the session for Current, Save and the rest. Load
// costs one store read for a live session; the only error it returns wraps
// ErrUnavailable.
func (s *Service) Load(r *http.Request) (*http.Request, error) {
	ctx := r.Context()
	st := &reqState{ip: s.ClientIP(r)}
	token := ""
	if c, err := r.Cookie(s.cookie.name); err == nil {
		st.hadCookie = true
		if validToken(c.Value) {
			token = c.Value
		} else {
			st.clear = true
		}
	}
	loaded, err := s.sm.Load(ctx, token)
	if err != nil {
		if !errors.Is(err, errCorruptBlob) {
			return nil, s.unavailable("load session", err)
		}
		loaded, _ = s.sm.Load(ctx, "")
		var be *blobError
		if errors.As(err, &be) && be.sid != "" {
			// A blob that fails authentication ends its session for good.
			if terr := s.tampered(ctx, be.sid, "session blob", be.err); errors.Is(terr, ErrUnavailable) {
				return nil, terr
			}
			t := store.Tombstone{SID: be.sid, Reason: store.ReasonSecurity, At: s.now()}
			st.ended = &t
		} else {
			s.securityEvent(ctx, "unreadable session blob: cookie cleared", slog.String("error", err.Error()))
			st.clear = true
		}
	}
	ctx = context.WithValue(loaded, stateKey{}, st)

	meta, ok := s.sm.Get(ctx, metaKey).(Meta)
	if token != "" && !ok && !st.clear {
		// The cookie names no live blob: find out why, for the login page.
		t, found, err := s.st.Tombstone(ctx, tokenHash(token))
		if err != nil {
			return nil, s.unavailable("tombstone", err)
		}
		if found {
			st.ended = &t
		} else {
			st.clear = true
		}
	}
	if ok {
		m := meta
		st.meta = &m
		if err := s.check(ctx, r, st); err != nil {
			return nil, err
		}
	}
	return r.WithContext(ctx), nil
}

// check applies the per-request rules to a loaded session and decides whether
// this request writes activity.
func (s *Service) check(ctx context.Context, r *http.Request, st *reqState) error {
	m := st.meta
	now := s.now()
	nowMS := ms(now)
	end := func(reason store.Reason, note string, attrs ...slog.Attr) error {
		t := store.Tombstone{SID: m.SID, User: m.User, Reason: reason, Actor: "system", Note: note, At: now}
		ended, err := s.st.End(ctx, m.SID, t, s.cfg.Session.RecoveryWindow())
		if err != nil {
			return s.unavailable("end session", err)
		}
		attrs = append(attrs, slog.String("sid", m.SID), slog.String("user", m.User), slog.String("reason", string(reason)))
		level := slog.LevelInfo
		if reason == store.ReasonSecurity {
			level = slog.LevelWarn
			s.securityEvent(ctx, note, attrs...)
			s.auditEvent(ctx, "system", "security", m.SID, note, "session ended")
		}
		s.log.LogAttrs(ctx, level, "session ended", attrs...)
		if ended {
			s.noteEnd(ctx, t, fromMS(m.CreatedAt))
		}
		st.meta = nil
		st.ended = &t
		return nil
	}
	switch {
	case nowMS >= m.LifetimeAt:
		return end(store.ReasonLifetime, "")
	case nowMS >= m.ExpiresAt:
		return end(store.ReasonExpired, "")
	case nowMS >= m.IdleAt:
		return end(store.ReasonIdle, "")
	}
	acct, ok := s.account(m.User)
	switch {
	case !ok:
		return end(store.ReasonAccountRemoved, "")
	case acct.Disabled:
		return end(store.ReasonAccountDisabled, "")
	}
	if fp := fingerprint(r.UserAgent(), r.Header.Get("Accept-Language")); subtle.ConstantTimeCompare([]byte(fp), []byte(m.Fingerprint)) != 1 {
		return end(store.ReasonSecurity, "browser changed", slog.String("user_agent", r.UserAgent()))
	}
	ip := st.ip // resolved once in Load
	if s.cfg.Security.IPValidation && ip != m.IP {
		return end(store.ReasonSecurity, "client IP changed", slog.String("ip_was", m.IP), slog.String("ip_now", ip))
	}
	if acct.Role != m.Role {
		// A privilege change renews the token, as a sign-in does.
		if err := s.renew(ctx, st, acct.Role); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "session role changed", slog.String("sid", m.SID), slog.String("role", acct.Role))
	}
	if !IsBackground(r) && now.Sub(fromMS(m.LastActivity)) >= s.cfg.Session.ActivityWrite() {
		s.markActivity(st, now, ip, r.UserAgent(), r.URL.Path)
	}
	return nil
}

// markActivity slides the session's clocks to now and queues the registry update
// that goes with the next blob write.
func (s *Service) markActivity(st *reqState, now time.Time, ip, userAgent, path string) {
	m := st.meta
	m.LastActivity = ms(now)
	m.ExpiresAt = min(ms(now.Add(s.cfg.Session.Timeout())), m.LifetimeAt)
	m.IdleAt = ms(now.Add(s.cfg.Session.Idle()))
	st.touch = &store.Touch{LastActivity: now, ExpiresAt: fromMS(m.ExpiresAt), IdleAt: fromMS(m.IdleAt),
		IP: ip, UserAgent: userAgent, Path: path}
	st.dirty = true
}

// renew gives the session a new token (and role) in the browser, the blob and
// the registry, keeping its sid.
func (s *Service) renew(ctx context.Context, st *reqState, role string) error {
	old := tokenHash(s.sm.Token(ctx))
	if err := s.sm.RenewToken(ctx); err != nil {
		return s.unavailable("renew token", err)
	}
	err := s.st.Rekey(ctx, st.meta.SID, old, tokenHash(s.sm.Token(ctx)), role, s.now())
	switch {
	case errors.Is(err, store.ErrSessionGone):
		st.meta = nil
		st.clear = true
		return nil
	case err != nil:
		return s.unavailable("renew token", err)
	}
	st.meta.Role = role
	st.dirty = true
	st.newToken = true
	return nil
}

// Save writes what the request changed: the blob (with the queued activity, in
// one store call) and the session cookie, or a cookie that deletes it. It is
// called once when the response starts; handlers that must know the write
// landed (sign-in, refresh) call it earlier themselves. Calls after the first
// do nothing, so a response carries at most one session Set-Cookie.
func (s *Service) Save(ctx context.Context, w http.ResponseWriter) error {
	prefetchFrom(ctx).drop()
	st := stateFrom(ctx)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.saved {
		return nil
	}
	st.saved = true
	h := w.Header()
	if st.meta != nil {
		h.Set(DeadlineHeader, itoa(min(st.meta.ExpiresAt, st.meta.IdleAt, st.meta.LifetimeAt)))
		h.Set("Cache-Control", "no-store")
		h.Add("Vary", "Cookie")
	}
	if st.meta == nil || !st.dirty {
		if st.clear {
			s.writeCookie(w, "")
		}
		return nil
	}
	s.sm.Put(ctx, metaKey, *st.meta)
	s.sm.SetDeadline(ctx, st.meta.deadline())
	cctx := store.WithCommit(ctx, store.CommitInfo{SID: st.meta.SID, Touch: st.touch})
	token, _, err := s.sm.Commit(cctx)
	switch {
	case errors.Is(err, store.ErrSessionGone):
		// Ended while this request ran: it must not come back.
		s.log.InfoContext(ctx, "session ended during request; not written back", slog.String("sid", st.meta.SID))
		st.meta = nil
		s.writeCookie(w, "")
		return nil
	case err != nil:
		return s.unavailable("save session", err)
	}
	if st.newToken {
		s.writeCookie(w, token)
	}
	return nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func (s *Service) writeCookie(w http.ResponseWriter, token string) {
	c := &http.Cookie{Name: s.cookie.name, Value: token, Path: "/", HttpOnly: true,
		Secure: s.cookie.secure, SameSite: http.SameSiteLaxMode}
	if token == "" {
		c.MaxAge = -1
		c.Expires = time.Unix(1, 0)
	}
	w.Header().Add("Set-Cookie", c.String())
}

// ClientIP is the request's client address: the peer, or, when the peer is a
// trusted proxy, the right-most X-Forwarded-For entry that is not one. A forged
// X-Forwarded-For from an untrusted peer is ignored.
func (s *Service) ClientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	var addr netip.Addr
	if err == nil {
		addr = peer.Addr().Unmap()
	} else if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		addr = a.Unmap()
	} else {
		return r.RemoteAddr
	}
	if !s.isTrusted(addr) {
		return addr.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr.String()
			}
			a = a.Unmap()
			if !s.isTrusted(a) {
				return a.String()
			}
			addr = a
		}
	}
	return addr.String()
}

func (s *Service) isTrusted(a netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
