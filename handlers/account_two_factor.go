package handlers

import (
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// accountTwoFactor shows the signed-in user a new TOTP secret and its QR code
// to enrol in an authenticator app. Accounts live in config.yaml, so enrolling
// ends with a config line for whoever edits it; nothing is stored here, and a
// new secret is made on every visit until one is confirmed.
func (h *Handler) accountTwoFactor(c echo.Context) error {
	p, err := h.twoFactorProps(c, "")
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.TwoFactorPage(p))
}

// accountTwoFactorConfirm checks a code for the secret being enrolled and, when
// it is right, prints the account's config line. A wrong code shows the same
// secret again, so the user does not have to scan a new one; a mangled secret
// gets a new one.
func (h *Handler) accountTwoFactorConfirm(c echo.Context) error {
	secret, code := c.FormValue("secret"), c.FormValue("code")
	if len(secret) > 128 {
		secret = ""
	}
	p, err := h.twoFactorProps(c, secret)
	if errors.Is(err, sessionsvc.ErrBadSecret) {
		if p, err = h.twoFactorProps(c, ""); err != nil {
			return err
		}
		p.Error = i18n.T(c.Request().Context(), "two_factor.lost_secret")
		return h.render(c, http.StatusUnprocessableEntity, views.TwoFactorPage(p))
	} else if err != nil {
		return err
	}
	if len(code) > 16 || !h.sessions.CheckTOTPEnrolment(secret, code) {
		p.Error = i18n.T(c.Request().Context(), "two_factor.code_mismatch")
		return h.render(c, http.StatusUnprocessableEntity, views.TwoFactorPage(p))
	}
	p.Confirmed = true
	return h.render(c, http.StatusOK, views.TwoFactorPage(p))
}

func (h *Handler) twoFactorProps(c echo.Context, secret string) (views.TwoFactorProps, error) {
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	p := views.TwoFactorProps{Layout: h.layout(c, i18n.T(ctx, "two_factor.title")), User: cur.User, Enabled: h.sessions.HasTOTP(cur.User)}
	enr, err := h.sessions.NewTOTPEnrolment(cur.User, secret)
	if err != nil {
		return p, err
	}
	p.Secret, p.OTPAuthURL = enr.Secret, enr.URL
	p.QRDataURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(enr.QRPNG)
	return p, nil
}
