package sessionsvc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Login throttling: the first failures are free, then each one doubles the
// wait, per account and per client IP. Counters live in the store, so every
// app instance sees the same ones, and are forgotten throttleWindow after the
// last failure.
const (
	freeFailuresUser = 3
	freeFailuresIP   = 10
	maxThrottleDelay = 15 * time.Minute
	throttleWindow   = time.Hour
)

func throttleDelay(failures, free int) time.Duration {
	if failures < free {
		return 0
	}
	shift := failures - free
	if shift > 10 {
		return maxThrottleDelay
	}
	return min(time.Second<<shift, maxThrottleDelay)
}

// LoginResult is a successful sign-in.
type LoginResult struct {
	SID  string
	Role string
}

// Login checks the credentials and, on success, creates a new session with a
// new token (never adopting one the browser brought) and registers it, evicting
// the user's least recently active session beyond max_sessions_per_user. The
// cookie is written by Save. Failures are ErrBadCredentials, *ThrottledError or
// ErrUnavailable; an account with a TOTP secret gets *SecondFactorRequired
// for a right password, and signs in through LoginSecondFactor.
func (s *Service) Login(ctx context.Context, r *http.Request, username, password string) (LoginResult, error) {
	if stateFrom(ctx) == nil {
		return LoginResult{}, errors.New("sessionsvc: Login without Load")
	}
	now := s.now()
	ip := s.ClientIP(r)
	username = strings.TrimSpace(username)
	keys, err := s.throttled(ctx, username, ip, now)
	if err != nil {
		return LoginResult{}, err
	}

	acct, known := s.account(username)
	hash := s.dummyHash
	if known {
		hash = acct.PasswordHash
	}
	ok, _ := VerifyPassword(hash, password)
	if !known || !ok || acct.Disabled {
		if err := s.failLogin(ctx, keys, now); err != nil {
			return LoginResult{}, err
		}
		s.log.InfoContext(ctx, "sign-in failed", slog.String("user", username), slog.String("ip", ip))
		s.auditEvent(ctx, username, "login_failed", username, "bad credentials", "refused")
		return LoginResult{}, ErrBadCredentials
	}
	if acct.TOTPSecret != "" {
		// The password was right; the session waits for the code. Throttle
		// counters stay: only a complete sign-in resets them.
		return LoginResult{}, &SecondFactorRequired{User: acct.Username, Pending: s.pendingToken(acct.Username)}
	}
	return s.finishLogin(ctx, r, acct, ip, keys, "")
}

// throttleKey is one login failure counter and its free failures.
type throttleKey struct {
	key  string
	free int
}

// throttled returns the failure counters of a sign-in for user from ip, or a
// *ThrottledError while either of them asks the client to wait.
func (s *Service) throttled(ctx context.Context, user, ip string, now time.Time) ([]throttleKey, error) {
	keys := []throttleKey{{"user:" + strings.ToLower(user), freeFailuresUser}, {"ip:" + ip, freeFailuresIP}}
	for _, k := range keys {
		n, last, err := s.st.Failures(ctx, k.key)
		if err != nil {
			return nil, s.unavailable("login throttle", err)
		}
		if wait := last.Add(throttleDelay(n, k.free)).Sub(now); wait > 0 {
			s.log.WarnContext(ctx, "sign-in throttled", slog.String("user", user), slog.String("ip", ip), slog.Int("failures", n))
			s.auditEvent(ctx, user, "login_failed", user, "throttled", "refused")
			return nil, &ThrottledError{RetryAfter: wait}
		}
	}
	return keys, nil
}

// failLogin counts one failure on every key.
func (s *Service) failLogin(ctx context.Context, keys []throttleKey, now time.Time) error {
	for _, k := range keys {
		if _, err := s.st.Fail(ctx, k.key, now, throttleWindow); err != nil {
			return s.unavailable("login throttle", err)
		}
	}
	return nil
}

// finishLogin signs in acct, whose credentials (and code, factor "totp")
// were right: it refuses a disabled account, resets the account's throttle
// and starts the session.
func (s *Service) finishLogin(ctx context.Context, r *http.Request, acct Account, ip string, keys []throttleKey, factor string) (LoginResult, error) {
	now := s.now()
	// A disabled account is refused with the same generic error (the right
	// password must not reveal itself), counted like a failure. Asked only
	// here, at sign-in: requests keep their one read, since disabling
	// ended the account's sessions.
	disabled, err := s.st.AccountDisabled(ctx, acct.Username)
	if err != nil {
		return LoginResult{}, s.unavailable("account state", err)
	}
	if disabled {
		if err := s.failLogin(ctx, keys, now); err != nil {
			return LoginResult{}, err
		}
		s.log.InfoContext(ctx, "sign-in refused: account disabled", slog.String("user", acct.Username), slog.String("ip", ip))
		s.auditEvent(ctx, acct.Username, "login_failed", acct.Username, "account disabled", "refused")
		return LoginResult{}, ErrBadCredentials
	}
	if err := s.st.Reset(ctx, keys[0].key); err != nil {
		return LoginResult{}, s.unavailable("login throttle", err)
	}

	sid := randomID(16)
	if err := s.startSession(ctx, r, acct.Username, "", sid); err != nil {
		return LoginResult{}, err
	}
	s.log.InfoContext(ctx, "signed in", slog.String("sid", sid), slog.String("user", acct.Username), slog.String("role", acct.Role), slog.String("ip", ip))
	detail := ""
	if factor != "" {
		detail = "with " + factor
	}
	s.auditEvent(ctx, acct.Username, "login", sid, detail, "ok")
	return LoginResult{SID: sid, Role: acct.Role}, nil
}

// startSession replaces the request's session, if any, with a new one for user
// named sid: a new token (never one the browser brought), the per-user limit
// applied, and its initial state. The cookie is written by Save.
func (s *Service) startSession(ctx context.Context, r *http.Request, user, recoveredFrom, sid string) error {
	st := stateFrom(ctx)
	acct, ok := s.account(user)
	if st == nil || !ok {
		return fmt.Errorf("sessionsvc: start session for %q: no request state or account", user)
	}
	now := s.now()
	ip := s.ClientIP(r)
	// A session the browser still holds ends here: one browser, one session.
	if st.meta != nil {
		if err := s.endCurrent(ctx, st, store.ReasonLogout, user); err != nil {
			return err
		}
	}
	if err := s.sm.RenewToken(ctx); err != nil {
		return s.unavailable("new token", err)
	}
	s.sm.Clear(ctx)
	m := Meta{
		SID:          sid,
		User:         acct.Username,
		Role:         acct.Role,
		CreatedAt:    ms(now),
		AuthAt:       ms(now),
		LastActivity: ms(now),
		ExpiresAt:    ms(now.Add(s.cfg.Session.Timeout())),
		IdleAt:       ms(now.Add(s.cfg.Session.Idle())),
		LifetimeAt:   ms(now.Add(s.cfg.Session.Lifetime())),
		Fingerprint:  fingerprint(r.UserAgent(), r.Header.Get("Accept-Language")),
		IP:           ip,
		CSRF:         randomID(24),
	}
	m.ExpiresAt = min(m.ExpiresAt, m.LifetimeAt)
	rec := store.Record{
		SID: m.SID, TokenHash: tokenHash(s.sm.Token(ctx)), User: m.User, Role: m.Role,
		CreatedAt: now, AuthenticatedAt: now, LastActivity: now,
		ExpiresAt: fromMS(m.ExpiresAt), IdleAt: fromMS(m.IdleAt), LifetimeAt: fromMS(m.LifetimeAt),
		FirstIP: ip, LastIP: ip, FirstUserAgent: r.UserAgent(), LastUserAgent: r.UserAgent(),
		Device: s.device(r.UserAgent()), Fingerprint: m.Fingerprint, Path: r.URL.Path, Processing: "idle",
		RecoveredFrom: recoveredFrom,
	}
	// The user's sessions as they were, so that those Create ends (evicted,
	// or past their deadline) are counted with their durations.
	before, err := s.UserSessions(ctx, user)
	if err != nil {
		return err
	}
	ended, err := s.st.Create(ctx, rec, s.cfg.Session.MaxSessionsPerUser, now, s.cfg.Session.RecoveryWindow())
	if err != nil {
		return s.unavailable("create session", err)
	}
	for _, t := range ended {
		s.log.InfoContext(ctx, "session ended", slog.String("sid", t.SID), slog.String("user", t.User), slog.String("reason", string(t.Reason)))
		var created time.Time
		for _, b := range before {
			if b.SID == t.SID {
				created = b.CreatedAt
			}
		}
		s.noteEnd(ctx, t, created)
	}
	s.noteStart(ctx, user)
	if recoveredFrom == "" {
		s.Record(sid, user, store.EventLogin, map[string]string{"ip": ip})
	} else {
		s.Record(sid, user, store.EventRecovered, map[string]string{"from": recoveredFrom})
	}
	sc := sessionContext{IP: ip, UserAgent: r.UserAgent(), Referrer: r.Referer(), Locale: requestLocale(r)}
	theme, locale, err := s.initState(ctx, m.SID, m.User, sc)
	if err != nil {
		return err
	}
	m.Theme, m.Locale = theme, locale
	st.meta = &m
	st.ended = nil
	st.touch = nil
	st.dirty = true
	st.newToken = true
	st.clear = false
	return nil
}

// endCurrent ends the request's own session and forgets it.
func (s *Service) endCurrent(ctx context.Context, st *reqState, reason store.Reason, actor string) error {
	t := store.Tombstone{SID: st.meta.SID, User: st.meta.User, Reason: reason, Actor: actor, At: s.now()}
	ended, err := s.st.End(ctx, st.meta.SID, t, s.cfg.Session.RecoveryWindow())
	if err != nil {
		return s.unavailable("end session", err)
	}
	if ended {
		s.noteEnd(ctx, t, fromMS(st.meta.CreatedAt))
	}
	s.log.InfoContext(ctx, "session ended", slog.String("sid", st.meta.SID), slog.String("user", st.meta.User), slog.String("reason", string(reason)))
	st.meta = nil
	st.dirty = false
	st.touch = nil
	st.clear = st.hadCookie
	return nil
}

// Logout ends the request's session for good and deletes the cookie. Signing out
// without a session is not an error.
func (s *Service) Logout(ctx context.Context) error {
	st := stateFrom(ctx)
	if st == nil || st.meta == nil {
		s.Forget(ctx)
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	user, sid := st.meta.User, st.meta.SID
	if err := s.endCurrent(ctx, st, store.ReasonLogout, user); err != nil {
		return err
	}
	s.auditEvent(ctx, user, "logout", sid, "", "ok")
	return nil
}

// Refresh slides the session's expiry and idle clocks now (the "stay signed in"
// button) and returns the new deadline. The write happens in Save.
func (s *Service) Refresh(ctx context.Context, r *http.Request) (time.Time, error) {
	st := stateFrom(ctx)
	if st == nil || st.meta == nil {
		return time.Time{}, ErrNoSession
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s.markActivity(st, s.now(), s.ClientIP(r), r.UserAgent(), st.meta.lastPath(r))
	s.Record(st.meta.SID, st.meta.User, store.EventRefresh, nil)
	return st.meta.deadline(), nil
}

func (m *Meta) lastPath(r *http.Request) string {
	if ref := r.Referer(); ref != "" {
		if i := strings.Index(ref, "://"); i >= 0 {
			rest := ref[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				return rest[j:]
			}
		}
	}
	return r.URL.Path
}

// CheckCSRF verifies the synchronizer token of a state-changing request of a
// signed-in session: the csrf_token form field or, for htmx, the X-CSRF-Token
// header. With csrf_protection off it accepts everything.
func (s *Service) CheckCSRF(ctx context.Context, r *http.Request) bool {
	if !s.cfg.Security.CSRFProtection {
		return true
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf_token")
	}
	return s.CheckCSRFToken(ctx, got)
}

// CheckCSRFToken verifies a synchronizer token the caller read itself: the
// first part of a streamed multipart upload, whose body must not be parsed
// whole to find the token.
func (s *Service) CheckCSRFToken(ctx context.Context, tok string) bool {
	if !s.cfg.Security.CSRFProtection {
		return true
	}
	cur, ok := s.Current(ctx)
	return ok && tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(cur.CSRFToken)) == 1
}

// loginFormTTL bounds how long a rendered login form may be submitted.
const loginFormTTL = 2 * time.Hour

// LoginFormToken signs a token for the anonymous login form. Anonymous visitors
// get no stored session, so the form's CSRF defence is this token (checked by
// CheckLoginFormToken) plus the fetch-metadata check in front of every POST.
func (s *Service) LoginFormToken() string {
	payload := strconv.FormatInt(s.now().Unix(), 10) + "." + randomID(12)
	return payload + "." + s.sign("login-form", payload)
}

// CheckLoginFormToken verifies a token made by LoginFormToken that is not older
// than two hours.
func (s *Service) CheckLoginFormToken(tok string) bool {
	if !s.cfg.Security.CSRFProtection {
		return true
	}
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return false
	}
	payload, mac := tok[:i], tok[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.sign("login-form", payload))) {
		return false
	}
	ts, _, _ := strings.Cut(payload, ".")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	age := s.now().Sub(time.Unix(sec, 0))
	return age >= -time.Minute && age <= loginFormTTL
}

func (s *Service) sign(purpose, payload string) string {
	h := hmac.New(sha256.New, s.formKey)
	fmt.Fprintf(h, "%s\x00%s", purpose, payload)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
