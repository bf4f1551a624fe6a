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
