package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func withTOTP(user string) func(*sessionsvc.Config) {
	return func(c *sessionsvc.Config) {
		for i := range c.Accounts {
			if c.Accounts[i].Username == user {
				c.Accounts[i].TOTPSecret = testTOTPSecret
			}
		}
	}
}

// codeStep posts the password form and returns the code form's fields.
func codeStep(t *testing.T, b *browser, user string) url.Values {
	t.Helper()
	res := b.tryLogin(user, user+"-pw")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("password step: status %d, want 200 with the code form\n%s", res.StatusCode, res.Body)
	}
	d := doc(t, res.Body)
	form := d.Find(`[data-testid="login-code-form"]`)
	if form.Length() != 1 {
		t.Fatalf("password step did not show the code form:\n%s", res.Body)
	}
	if b.cookie() != "" {
		t.Fatal("a session cookie exists before the code was given")
	}
	v := url.Values{}
	form.Find("input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		v.Set(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	if v.Get("pending") == "" || v.Get("csrf_token") == "" {
		t.Fatalf("code form lacks pending or csrf_token: %v", v)
	}
	return v
}

func TestTOTPSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		a := newApp(t, backend, withTOTP("adam"))

		// A wrong code keeps the user on the code form, signed out, and is
		// audited as a failed sign-in.
		b := a.browser()
		v := codeStep(t, b, "adam")
		v.Set("code", "000000")
		if totpCode(t, testTOTPSecret, a.Clock.Now()) == "000000" {
			v.Set("code", "111111")
		}
		res := b.post("/login", v)
		if res.StatusCode != http.StatusUnauthorized || b.cookie() != "" {
			t.Fatalf("wrong code: status %d cookie %q, want 401 and none", res.StatusCode, b.cookie())
		}
		if doc(t, res.Body).Find(`[data-testid="login-code-form"]`).Length() != 1 {
			t.Fatal("wrong code: the code form is gone")
		}

		// The right code signs in.
		v.Set("code", totpCode(t, testTOTPSecret, a.Clock.Now()))
		res = b.post("/login", v)
		if res.StatusCode != http.StatusSeeOther || b.get("/admin").StatusCode != http.StatusOK {
			t.Fatalf("right code: status %d, want 303 and a console session\n%s", res.StatusCode, res.Body)
		}

		// The same code again (another browser, the same step) is refused.
		b2 := a.browser()
		v2 := codeStep(t, b2, "adam")
		v2.Set("code", v.Get("code"))
		if res := b2.post("/login", v2); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("replayed code: status %d, want 401", res.StatusCode)
		}

		// A pending sign-in expires: five minutes later the next code fails too.
		b3 := a.browser()
		v3 := codeStep(t, b3, "adam")
		a.Clock.Add(6 * time.Minute)
		v3.Set("code", totpCode(t, testTOTPSecret, a.Clock.Now()))
		if res := b3.post("/login", v3); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("expired pending sign-in: status %d, want 401", res.StatusCode)
		}

		// A forged pending token names another user: refused.
		b4 := a.browser()
		v4 := codeStep(t, b4, "adam")
		v4.Set("pending", strings.Replace(v4.Get("pending"), "adam", "olga", 1))
		v4.Set("code", totpCode(t, testTOTPSecret, a.Clock.Now()))
		if res := b4.post("/login", v4); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged pending token: status %d, want 401", res.StatusCode)
		}

		// Accounts without a secret sign in with the password alone.
		a.browser().login("olga")

		page, err := a.Svc.AuditLog(t.Context(), store.AuditQuery{Actor: "adam", Action: "login_failed"})
		if err != nil {
			t.Fatal(err)
		}
		var codes int
		for _, e := range page.Entries {
			if e.Reason == "bad one-time code" {
				codes++
			}
		}
		// The wrong code and the replay; an expired or forged pending token
		// names no user that can be trusted, so it is not an account's failure.
		if codes != 2 {
			t.Errorf("audit has %d failed-code entries, want 2: %+v", codes, page.Entries)
		}
	})
}

func TestTOTPWrongCodesAreThrottled(t *testing.T) {
	a := newApp(t, "sqlite", withTOTP("adam"))
	b := a.browser()
	v := codeStep(t, b, "adam")
	good := totpCode(t, testTOTPSecret, a.Clock.Now())
	var last *response
	for i := 0; i < 6; i++ {
		v.Set("code", strings.Repeat(string('0'+byte(i)), 6))
		if v.Get("code") == good {
			continue
		}
		last = b.post("/login", v)
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 5 wrong codes: status %d, want 429", last.StatusCode)
	}
}

func TestTOTPEnrolment(t *testing.T) {
	a := newApp(t, "sqlite")
	b := a.browser()
	b.login("adam")
	res := b.get("/account/two-factor")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /account/two-factor: %d", res.StatusCode)
	}
	d := doc(t, res.Body)
	secret := strings.TrimSpace(d.Find(`[data-testid="totp-secret"]`).Text())
	if len(secret) != 32 {
		t.Fatalf("secret %q, want 32 base32 characters (160 bits)", secret)
	}
	if src := d.Find(`[data-testid="totp-qr"]`).AttrOr("src", ""); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("QR code src = %.40q, want a PNG data URL", src)
	}
	form := url.Values{"csrf_token": {csrfFrom(t, res.Body)}, "secret": {secret}, "code": {"123456"}}
	if totpCode(t, secret, a.Clock.Now()) == "123456" {
		form.Set("code", "654321")
	}
	res = b.post("/account/two-factor", form)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: status %d, want 422", res.StatusCode)
	}
	if got := strings.TrimSpace(doc(t, res.Body).Find(`[data-testid="totp-secret"]`).Text()); got != secret {
		t.Fatalf("wrong code showed secret %q, want the same %q", got, secret)
	}
	form.Set("code", totpCode(t, secret, a.Clock.Now()))
	res = b.post("/account/two-factor", form)
	line := strings.TrimSpace(doc(t, res.Body).Find(`[data-testid="totp-config-line"]`).Text())
	if res.StatusCode != http.StatusOK || line != "totp_secret: "+secret {
		t.Fatalf("right code: status %d line %q", res.StatusCode, line)
	}
	// A mangled secret gets a fresh one, not an error page.
	form.Set("secret", "not base32!")
	if res := b.post("/account/two-factor", form); res.StatusCode != http.StatusUnprocessableEntity ||
		doc(t, res.Body).Find(`[data-testid="totp-qr"]`).Length() != 1 {
		t.Fatalf("mangled secret: status %d", res.StatusCode)
	}
	// Without the CSRF token the form is refused.
	form.Del("csrf_token")
	if res := b.post("/account/two-factor", form); res.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF token: status %d, want 403", res.StatusCode)
	}
}
