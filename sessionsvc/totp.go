package sessionsvc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The second factor: TOTP as RFC 6238 and every authenticator app use it
// (SHA-1, 6 digits, 30 s steps), checked by github.com/pquerna/otp. A code is
// accepted one step either side of now (clock drift) and only once: the step
// it matched is remembered for the user, in the store, so every instance
// refuses a replayed code.
const (
	totpPeriod     = 30
	totpDigits     = otp.DigitsSix
	totpSkew       = 1
	totpPendingTTL = 5 * time.Minute
	totpIssuer     = "Session Console"
)

// SecondFactorRequired is what Login returns for a right password of an
// account with a TOTP secret: the sign-in goes on with LoginSecondFactor and
// Pending, a signed token naming the user that expires in five minutes. It
// carries no session: none exists until the code is right.
type SecondFactorRequired struct {
	User    string
	Pending string
}

func (e *SecondFactorRequired) Error() string {
	return "sessionsvc: a one-time code is required for " + e.User
}

// ErrBadCode is a wrong, reused or expired one-time code, or an expired
// pending sign-in: the user starts again from the code form or the password.
var ErrBadCode = errors.New("sessionsvc: invalid or expired one-time code")

// checkTOTPSecret validates a configured secret: base32, at least 80 bits
// (RFC 4226 asks for 128, recommends 160; the enrolment page makes 160).
func checkTOTPSecret(secret string) error {
	b, err := decodeTOTPSecret(secret)
	if err != nil {
		return errors.New("not a base32 secret (letters A-Z and digits 2-7)")
	}
	if len(b) < 10 {
		return fmt.Errorf("too short: %d bits, want at least 80", len(b)*8)
	}
	return nil
}

func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.TrimRight(strings.ReplaceAll(secret, " ", ""), "="))
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

// pendingToken signs "user.unix.random" for LoginSecondFactor.
func (s *Service) pendingToken(user string) string {
	payload := user + "." + strconv.FormatInt(s.now().Unix(), 10) + "." + randomID(12)
	return payload + "." + s.sign("totp-pending", payload)
}

// checkPending returns the user a pending token names, if it is genuine and
// younger than totpPendingTTL.
func (s *Service) checkPending(tok string) (string, bool) {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return "", false
	}
	payload, mac := tok[:i], tok[i+1:]
	if subtle.ConstantTimeCompare([]byte(mac), []byte(s.sign("totp-pending", payload))) != 1 {
		return "", false
	}
	parts := strings.Split(payload, ".")
	if len(parts) < 3 {
		return "", false
	}
	// Usernames may contain dots: the time and nonce are the last two parts.
	user := strings.Join(parts[:len(parts)-2], ".")
	sec, err := strconv.ParseInt(parts[len(parts)-2], 10, 64)
	if err != nil {
		return "", false
	}
	age := s.now().Sub(time.Unix(sec, 0))
	return user, age >= -time.Minute && age <= totpPendingTTL
}

// matchTOTP returns the time step whose code equals code, within the skew.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		t := time.Unix((step+d)*totpPeriod, 0)
		want, err := totp.GenerateCodeCustom(secret, t, opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d, true
		}
	}
	return 0, false
}

// useCode reports whether code is acct's current one-time code and was not
// used before: the step it matched is remembered in the store (the first Fail
// on the step's key counts 1, a replay more), so every instance refuses a
// replay.
func (s *Service) useCode(ctx context.Context, acct Account, code string, now time.Time) (bool, error) {
	step, ok := matchTOTP(acct.TOTPSecret, code, now)
	if !ok {
		return false, nil
	}
	key := "totp:" + strings.ToLower(acct.Username) + ":" + strconv.FormatInt(step, 10)
	n, err := s.st.Fail(ctx, key, now, 2*(totpSkew+1)*totpPeriod*time.Second)
	if err != nil {
		return false, s.unavailable("one-time code", err)
	}
	return n == 1, nil
}

// LoginSecondFactor finishes a sign-in that Login answered with
// *SecondFactorRequired: it checks the pending token and the one-time code
// and, when both hold, starts the session as Login does. Wrong codes count as
// failed sign-ins of the account and the IP (the same throttle as passwords)
// and are audited; a code is good once.
func (s *Service) LoginSecondFactor(ctx context.Context, r *http.Request, pending, code string) (LoginResult, error) {
	if stateFrom(ctx) == nil {
		return LoginResult{}, errors.New("sessionsvc: LoginSecondFactor without Load")
	}
	user, ok := s.checkPending(pending)
	if !ok {
		return LoginResult{}, ErrBadCode
	}
	now := s.now()
	ip := s.ClientIP(r)
	keys, err := s.throttled(ctx, user, ip, now)
	if err != nil {
		return LoginResult{}, err
	}
	acct, known := s.account(user)
	if !known || acct.Disabled || acct.TOTPSecret == "" {
		return LoginResult{}, ErrBadCode
	}
	ok, err = s.useCode(ctx, acct, code, now)
	if err != nil {
		return LoginResult{}, err
	}
	if !ok {
		if err := s.failLogin(ctx, keys, now); err != nil {
			return LoginResult{}, err
		}
		s.log.InfoContext(ctx, "sign-in failed: one-time code", slog.String("user", acct.Username), slog.String("ip", ip))
		s.auditEvent(ctx, acct.Username, "login_failed", acct.Username, "bad one-time code", "refused")
		return LoginResult{}, ErrBadCode
	}
	return s.finishLogin(ctx, r, acct, ip, keys, "totp")
}

// TOTPEnrolment is a new secret for an account, shown once on the enrolment
// page: the secret to type, the otpauth:// URL and its QR code (PNG).
type TOTPEnrolment struct {
	Secret string
	URL    string
	QRPNG  []byte
}

// ErrBadSecret is a TOTP secret that is not base32 or too short.
var ErrBadSecret = errors.New("sessionsvc: not a valid TOTP secret")

// NewTOTPEnrolment makes a 160-bit secret for user and its QR code; with a
// secret it shows that one again (a confirmation that failed), or returns
// ErrBadSecret.
func (s *Service) NewTOTPEnrolment(user, secret string) (TOTPEnrolment, error) {
	opts := totp.GenerateOpts{
		Issuer: totpIssuer, AccountName: user, Period: totpPeriod, Digits: totpDigits,
		SecretSize: 20, Algorithm: otp.AlgorithmSHA1,
	}
	if secret != "" {
		b, err := decodeTOTPSecret(secret)
		if err != nil || checkTOTPSecret(secret) != nil {
			return TOTPEnrolment{}, ErrBadSecret
		}
		opts.Secret = b
	}
	key, err := totp.Generate(opts)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("sessionsvc: totp secret: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("sessionsvc: totp qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("sessionsvc: totp qr code: %w", err)
	}
	return TOTPEnrolment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// CheckTOTPEnrolment reports whether code is right for a secret being
// enrolled, so that the config line is printed only for a secret the user's
// authenticator really holds.
func (s *Service) CheckTOTPEnrolment(secret, code string) bool {
	if checkTOTPSecret(secret) != nil {
		return false
	}
	_, ok := matchTOTP(secret, code, s.now())
	return ok
}

// HasTOTP reports whether user must give a one-time code at sign-in.
func (s *Service) HasTOTP(user string) bool {
	a, ok := s.account(user)
	return ok && a.TOTPSecret != ""
}

// ErrWrongPassword is a failed password confirmation of a signed-in user.
var ErrWrongPassword = errors.New("sessionsvc: wrong password or code")

// AuthFresh reports whether the signed-in user gave their password within
// security.recent_auth_minutes.
func (s *Service) AuthFresh(ctx context.Context) bool {
	cur, ok := s.Current(ctx)
	return ok && s.now().Sub(cur.AuthAt) <= s.cfg.Security.RecentAuth()
}

// RecentAuth is security.recent_auth_minutes.
func (s *Service) RecentAuth() time.Duration { return s.cfg.Security.RecentAuth() }

// ConfirmPassword checks the signed-in user's password (and one-time code,
// for an account with a TOTP secret) again and, when right, records the time
// as their latest authentication, so that the actions needing a recent
// sign-in are allowed for security.recent_auth_minutes. Failures count
// against the same throttle as sign-ins (*ThrottledError) and are audited;
// they never end the session.
func (s *Service) ConfirmPassword(ctx context.Context, r *http.Request, password, code string) error {
	st := stateFrom(ctx)
	if st == nil || st.meta == nil {
		return ErrNoSession
	}
	user := st.meta.User
	now := s.now()
	ip := s.ClientIP(r)
	keys, err := s.throttled(ctx, user, ip, now)
	if err != nil {
		return err
	}
	acct, known := s.account(user)
	ok := false
	if known {
		ok, _ = VerifyPassword(acct.PasswordHash, password)
	}
	if ok && acct.TOTPSecret != "" {
		if ok, err = s.useCode(ctx, acct, code, now); err != nil {
			return err
		}
	}
	if !ok {
		if err := s.failLogin(ctx, keys, now); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "password confirmation failed", slog.String("user", user), slog.String("ip", ip))
		s.auditEvent(ctx, user, "reauth_failed", st.meta.SID, "wrong password or code", "refused")
		return ErrWrongPassword
	}
	if err := s.st.Reset(ctx, keys[0].key); err != nil {
		return s.unavailable("login throttle", err)
	}
	st.mu.Lock()
	st.meta.AuthAt = ms(now)
	st.dirty = true
	st.mu.Unlock()
	s.auditEvent(ctx, user, "reauth", st.meta.SID, "", "ok")
	return nil
}
