// Package admission is the waiting room's pass: the Admission-Token the gateway gives a buyer the
// room has admitted, and that the booking service checks on POST /api/bookings for an event whose
// room is on. A token is a JWT (HS256) bound to one account and one event, valid until the
// admission ends; its key is derived from the JWT secret (one secret per deployment), so a token
// is never a valid access token nor the other way round.
package admission

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Header is the request header a booking carries its token in.
const Header = "Admission-Token"

// audience marks a token as an admission (an access token has none).
const audience = "ticketflow-admission"

// Key is the signing key of admission tokens, derived from the JWT secret.
func Key(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ticketflow-admission-token"))
	return m.Sum(nil)
}

// Pass is what a token says: who was admitted to which event, when, and until when.
type Pass struct {
	UserID, EventID string
	AdmittedAt      time.Time
	Until           time.Time
}

type claims struct {
	EventID string `json:"evt"`
	jwt.RegisteredClaims
}

// Sign issues the token of p under key. It is deterministic (times at whole seconds): every
// gateway replica gives a buyer the same token for the same admission.
func Sign(key []byte, p Pass) (string, error) {
	c := claims{EventID: p.EventID, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   p.UserID,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(p.AdmittedAt.Truncate(time.Second)),
		ExpiresAt: jwt.NewNumericDate(p.Until.Truncate(time.Second)),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign admission token: %w", err)
	}
	return s, nil
}

// Errors of Verify. Callers answer each alike (403 ADMISSION_INVALID); they are told apart for
// logs and tests.
var (
	ErrExpired    = errors.New("the admission has ended")
	ErrForged     = errors.New("not an admission token of this deployment")
	ErrOtherEvent = errors.New("the admission is for another event")
	ErrOtherUser  = errors.New("the admission is another account's")
)

// Verify checks token for a booking of userID on eventID at now: signature (HS256 only),
// audience, expiry (no leeway: an admission ends when it says), and that it binds this account
// and this event. It returns the pass, or one of the errors above.
func Verify(key []byte, token, userID, eventID string, now time.Time) (Pass, error) {
	p, err := Read(key, token, now)
	switch {
	case err != nil:
		return Pass{}, err
	case p.UserID != userID:
		return Pass{}, ErrOtherUser
	case p.EventID != eventID:
		return Pass{}, ErrOtherEvent
	}
	return p, nil
}

// Read checks token's signature, audience and expiry at now and returns its pass, whoever and
// whichever event it is for (ErrExpired or ErrForged otherwise).
func Read(key []byte, token string, now time.Time) (Pass, error) {
	if len(token) == 0 || len(token) > 2048 {
		return Pass{}, ErrForged
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithStrictDecoding())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired) && c.Subject != "":
		return Pass{}, ErrExpired
	case err != nil || c.Subject == "" || c.EventID == "":
		return Pass{}, ErrForged
	}
	p := Pass{UserID: c.Subject, EventID: c.EventID, Until: c.ExpiresAt.Time}
	if c.IssuedAt != nil {
		p.AdmittedAt = c.IssuedAt.Time
	}
	return p, nil
}
