// Package auth issues and verifies TicketFlow's access tokens (JWT, HS256 only) and derives the
// token that internal callers (worker, bridge, services) present to each other's internal APIs.
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"ticketflow/internal/clock"
)

// Roles a token may carry. A SCANNER is door staff: it checks tickets in and reads an event's
// revocation list, and has no other rights beyond a USER's.
const (
	RoleUser    = "USER"
	RoleAdmin   = "ADMIN"
	RoleScanner = "SCANNER"
)

// ValidRole reports whether role is one a token may carry.
func ValidRole(role string) bool { return role == RoleUser || role == RoleAdmin || role == RoleScanner }

// Identity is who a verified request comes from.
type Identity struct {
	UserID string
	Email  string
	Role   string
}

// Admin reports whether the identity has the ADMIN role.
func (id Identity) Admin() bool { return id.Role == RoleAdmin }

// Scanner reports whether the identity may check tickets in: the SCANNER role, or ADMIN.
func (id Identity) Scanner() bool { return id.Role == RoleScanner || id.Role == RoleAdmin }

type claims struct {
	Email string `json:"email"`
	Role  string `json:"role"`
	jwt.RegisteredClaims
}

// ErrInvalidToken is returned for every token that must not be trusted; callers answer 401
// without saying which check failed.
var ErrInvalidToken = errors.New("invalid or expired token")

// Sign issues a token for id, valid for ttl from now.
func Sign(secret []byte, id Identity, ttl time.Duration, now time.Time) (string, time.Time, error) {
	exp := now.Add(ttl).Truncate(time.Second)
	c := claims{Email: id.Email, Role: id.Role, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   id.UserID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// MaxClockSkew is how far each process's clock may be from the stack's reference clock
// (PostgreSQL's): NTP keeps real clocks within milliseconds; the chaos run's clock class moves
// them 2 minutes either way. Two processes may so be twice that apart, and a token is judged with
// that much leeway on exp, iat and nbf (and 5 s more): a token one replica signed is good at once
// on every gateway, and is taken at most that long past its expiry.
const MaxClockSkew = 2 * time.Minute

// leeway is how far off a token's times may be from the verifier's clock.
const leeway = 2*MaxClockSkew + 5*time.Second

// Verify checks a token's algorithm (HS256 only: "none" and RS256 are refused), signature and
// expiry, and returns the identity it carries.
func Verify(secret []byte, token string) (Identity, error) {
	if len(token) == 0 || len(token) > 4096 {
		return Identity{}, ErrInvalidToken
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(clock.Now),
		jwt.WithStrictDecoding()) // one encoding per signature: no variants in unused bits
	if err != nil {
		return Identity{}, ErrInvalidToken
	}
	if c.Subject == "" || len(c.Subject) > 64 || !ValidRole(c.Role) {
		return Identity{}, ErrInvalidToken
	}
	return Identity{UserID: c.Subject, Email: c.Email, Role: c.Role}, nil
}

// InternalToken is the shared secret internal callers send in X-Internal-Token. It is derived
// from the JWT secret so a deployment has one secret to manage, and is never a valid JWT.
func InternalToken(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ticketflow-internal-api"))
	return hex.EncodeToString(m.Sum(nil))
}

// ClientIPMAC vouches for a client address the gateway forwards (X-Client-Ip): an HMAC of the
// address under the JWT secret, so a service believes the address only when the gateway, which
// holds the secret, set it. It is never a valid JWT or internal token.
func ClientIPMAC(secret []byte, ip string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ticketflow-client-ip\x00" + ip))
	return hex.EncodeToString(m.Sum(nil))
}

// PaymentSeal vouches for a payment of record the bridge hands to a booking's workflow: an HMAC of
// its fields under the JWT secret, so the workflow acts on the record at once when the bridge,
// which checked it against the payment service, sent it, and reads the record itself otherwise
// (a payment result an operator typed in the Temporal UI). It is never a valid JWT or token.
func PaymentSeal(secret []byte, fields ...string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ticketflow-payment-of-record"))
	for _, f := range fields {
		m.Write([]byte{0})
		m.Write([]byte(f))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// EqualToken compares two tokens in constant time.
func EqualToken(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
