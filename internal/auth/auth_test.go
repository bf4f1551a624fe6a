package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestSignedTokenVerifies(t *testing.T) {
	tok, exp, err := Sign(secret, Identity{UserID: "u1", Email: "a@b.c", Role: RoleAdmin}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id, err := Verify(secret, tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != "u1" || id.Email != "a@b.c" || !id.Admin() || time.Until(exp) < 59*time.Minute {
		t.Fatalf("identity %+v exp %v", id, exp)
	}
}

func TestVerifyRefusesUntrustworthyTokens(t *testing.T) {
	good, _, _ := Sign(secret, Identity{UserID: "u1", Role: RoleUser}, time.Hour, time.Now())
	expired, _, _ := Sign(secret, Identity{UserID: "u1", Role: RoleUser}, time.Minute, time.Now().Add(-time.Hour))
	wrongKey, _, _ := Sign([]byte("another-secret-another-secret-xx"), Identity{UserID: "u1", Role: RoleUser}, time.Hour, time.Now())
	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "u1", "role": "USER",
		"exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "role": "USER"}).SignedString(secret)
	badRole, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "role": "ROOT",
		"exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u1","role":"ADMIN","exp":9999999999}`)) + "." + parts[2]
	for name, tok := range map[string]string{
		"expired": expired, "wrong key": wrongKey, "alg none": none, "HS512": hs512, "no exp": noExp,
		"unknown role": badRole, "tampered claims": tampered, "garbage": "not.a.jwt", "empty": "",
	} {
		if _, err := Verify(secret, tok); err != ErrInvalidToken {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
}

// Found by the chaos run's clock class: with the gateways' clocks 2 minutes behind PostgreSQL's
// and a user replica's 2 minutes ahead, every buyer was answered 401 (its token "used before
// issued"). A token signed by a clock MaxClockSkew ahead verifies on one MaxClockSkew behind; one
// from farther off is still refused, and so is one long expired.
func TestTokensFromSkewedClocksVerify(t *testing.T) {
	const apart = 4 * time.Minute // the clock class's: one process 2 minutes ahead, another 2 behind
	id := Identity{UserID: "u1", Email: "a@b.c", Role: RoleUser}
	for _, c := range []struct {
		name     string
		signedAt time.Time
		ttl      time.Duration
		ok       bool
	}{
		{"signed by a clock 4 minutes ahead", time.Now().Add(apart), time.Hour, true},
		{"expired 4 minutes ago by the signer's clock", time.Now().Add(-time.Hour - apart + 10*time.Second), time.Hour, true},
		{"signed an hour ahead", time.Now().Add(time.Hour), 2 * time.Hour, false},
		{"expired an hour ago", time.Now().Add(-2 * time.Hour), time.Hour, false},
	} {
		tok, _, err := Sign(secret, id, c.ttl, c.signedAt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(secret, tok); (err == nil) != c.ok {
			t.Errorf("%s: Verify = %v, want ok %v", c.name, err, c.ok)
		}
	}
}
