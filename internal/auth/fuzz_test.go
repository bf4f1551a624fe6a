package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

var fuzzSecret = []byte("fuzz-secret-fuzz-secret-fuzz-secret!")
var otherSecret = []byte("not-the-secret-not-the-secret-not-the")

// signedWith reports whether token's signature is the HMAC-SHA256 of its signing input under key.
func signedWith(key []byte, token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(parts[0] + "." + parts[1]))
	return hmac.Equal(sig, m.Sum(nil))
}

// resign replaces the signature of token's first two segments with a valid HS256 signature under
// key, so the fuzzer explores what Verify does with hostile headers and claims that ARE signed.
func resign(key []byte, token string) (string, bool) {
	parts := strings.SplitN(token, ".", 3)
	if len(parts) < 2 {
		return "", false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(parts[0] + "." + parts[1]))
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)), true
}

// acceptable is an independent reading of the rules a trusted token must meet: header alg exactly
// HS256, an unexpired exp, no iat or nbf in the future, a subject of 1..64 bytes, a known role.
// Claims are read with encoding/json into a struct, as the JWT library does.
func acceptable(token string, id Identity, now time.Time) (bool, string) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false, "not three segments"
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false, "header is not base64url"
	}
	var header map[string]any
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		return false, "header is not a JSON object"
	}
	if alg, _ := header["alg"].(string); alg != "HS256" {
		return false, "alg is not HS256"
	}
	rawClaims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false, "claims are not base64url"
	}
	var c struct {
		Sub   string       `json:"sub"`
		Email string       `json:"email"`
		Role  string       `json:"role"`
		Exp   *json.Number `json:"exp"`
		Iat   *json.Number `json:"iat"`
		Nbf   *json.Number `json:"nbf"`
	}
	if err := json.Unmarshal(rawClaims, &c); err != nil {
		return false, "claims do not decode"
	}
	leeway := leeway + 5*time.Second // Verify's; the extra covers the time between the calls
	at := func(n *json.Number) (time.Time, bool) {
		f, err := n.Float64()
		if err != nil || math.IsNaN(f) {
			return time.Time{}, false
		}
		switch {
		case f > 1e15:
			return time.Unix(1e15, 0), true
		case f < -1e15:
			return time.Unix(-1e15, 0), true
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), true
	}
	if c.Exp == nil {
		return false, "no exp"
	}
	if exp, ok := at(c.Exp); !ok || !now.Before(exp.Add(leeway)) {
		return false, "expired"
	}
	for _, n := range []*json.Number{c.Iat, c.Nbf} {
		if n == nil {
			continue
		}
		if t, ok := at(n); !ok || t.After(now.Add(leeway)) {
			return false, "iat or nbf in the future"
		}
	}
	if c.Sub == "" || len(c.Sub) > 64 {
		return false, "bad subject"
	}
	if c.Role != RoleUser && c.Role != RoleAdmin {
		return false, "unknown role"
	}
	if id.UserID != c.Sub || id.Role != c.Role || id.Email != c.Email {
		return false, "identity differs from the claims"
	}
	return true, ""
}

// FuzzVerifyToken: Verify never panics, never trusts a token whose signature is not the secret's
// HMAC, never trusts anything under another secret, and trusts a signed token only when its
// header and claims meet every rule (checked independently, on the token as given and re-signed).
func FuzzVerifyToken(f *testing.F) {
	now := time.Now()
	good, _, err := Sign(fuzzSecret, Identity{UserID: "6f1c2f4e-1b7a-4c0e-9d7e-0a1b2c3d4e5f", Email: "a@b.co", Role: RoleUser},
		24*time.Hour, now)
	if err != nil {
		f.Fatal(err)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	hs256 := enc(`{"alg":"HS256","typ":"JWT"}`)
	for _, s := range []string{
		good,
		enc(`{"alg":"none","typ":"JWT"}`) + "." + strings.Split(good, ".")[1] + ".",
		enc(`{"alg":"HS512"}`) + "." + enc(`{"sub":"u","role":"ADMIN","exp":99999999999}`) + ".sig",
		hs256 + "." + enc(`{"sub":"u","role":"ADMIN","exp":99999999999}`) + ".",
		hs256 + "." + enc(`{"sub":"u","role":"admin","exp":99999999999}`) + ".x",
		hs256 + "." + enc(`{"sub":"","role":"USER","exp":99999999999}`) + ".x",
		hs256 + "." + enc(`{"sub":"u","role":"USER"}`) + ".x",
		hs256 + "." + enc(`{"sub":"u","role":"USER","exp":"99999999999"}`) + ".x",
		hs256 + "." + enc(`{"sub":"u","role":"USER","exp":1e400}`) + ".x",
		hs256 + "." + enc(`{"sub":"u","role":"USER","exp":99999999999,"nbf":99999999998}`) + ".x",
		enc(`{"alg":"HS256","alg":"none"}`) + "." + enc(`{"sub":"u","role":"USER","exp":99999999999}`) + ".x",
		enc(`{"alg":"HS256","crit":["b64"],"b64":false}`) + "." + enc(`{"sub":"u","role":"USER","exp":99999999999}`) + ".x",
		"..",
		"a.b.c.d",
		"",
		strings.Repeat("A", 5000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		now := time.Now()
		check := func(tok string) {
			id, err := Verify(fuzzSecret, tok)
			if err != nil {
				if err != ErrInvalidToken {
					t.Fatalf("Verify error %v, want ErrInvalidToken", err)
				}
				if id != (Identity{}) {
					t.Fatalf("refused token still gave an identity %+v", id)
				}
			} else {
				if !signedWith(fuzzSecret, tok) {
					t.Fatalf("trusted a token not signed with the secret: %q", tok)
				}
				if ok, why := acceptable(tok, id, now); !ok {
					t.Fatalf("trusted a token that breaks a rule (%s): %q", why, tok)
				}
			}
			if id, err := Verify(otherSecret, tok); err == nil {
				t.Fatalf("trusted %q under another secret as %+v", tok, id)
			}
		}
		check(token)
		if signed, ok := resign(fuzzSecret, token); ok {
			check(signed)
		}
	})
}
