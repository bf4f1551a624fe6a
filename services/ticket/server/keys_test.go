package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"ticketflow/internal/httpapi"
	"ticketflow/services/ticket"
)

// memKey is a signing key made in memory, as reload makes one from its seed.
func memKey(t *testing.T, kid string) (*signingKey, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(ticket.CredentialType))
	if err != nil {
		t.Fatal(err)
	}
	return &signingKey{kid: kid, public: priv.Public().(ed25519.PublicKey), signer: signer, createdAt: time.Now(),
		publishUntil: time.Now().Add(time.Hour)}, priv
}

func codeOf(err error) string {
	var e *httpapi.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// A credential verifies against the key that signed it, and every altered or foreign credential
// is refused with its own 4xx code, never an error of another kind.
func TestCredentialsVerifyAndEveryBadOneIsRefusedWithItsCode(t *testing.T) {
	sk, _ := memKey(t, "k-test-1")
	old, _ := memKey(t, "k-test-0")
	old.publishUntil = time.Now().Add(-time.Minute) // its events are over
	k := &keyring{keys: map[string]*signingKey{sk.kid: sk, old.kid: old}, active: sk, lastReload: time.Now()}
	claims := ticket.Claims{TicketID: "5b0d7a8e-2f61-4c1e-9d3a-0c7e6f1b2a90", EventID: "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4",
		SeatID: "FLOOR-A-1", Holder: "Ann", IssuedAt: time.Now().Unix()}
	cred, err := sk.sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	got, kid, err := k.verify(context.Background(), cred)
	if err != nil || got != claims || kid != sk.kid {
		t.Fatalf("verify = %+v %q %v", got, kid, err)
	}
	parts := strings.Split(cred, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "FLOOR-A-1", "FLOOR-A-2", 1))) + "." + parts[2]
	stranger, _ := memKey(t, "k-stranger")
	foreign, _ := stranger.sign(claims)
	retired, _ := old.sign(claims)
	hs256, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	mac, _ := hs256.Sign([]byte(`{"tid":"x"}`))
	macCred, _ := mac.CompactSerialize()
	for _, c := range []struct{ name, cred, code string }{
		{"empty", "", ticket.CodeCredentialMalformed},
		{"garbage", "hello, door", ticket.CodeCredentialMalformed},
		{"three dots of garbage", "a.b.c", ticket.CodeCredentialMalformed},
		{"HS256 instead of EdDSA", macCred, ticket.CodeCredentialMalformed},
		{"huge", strings.Repeat("a", 5000) + ".b.c", ticket.CodeCredentialMalformed},
		{"tampered payload", tampered, ticket.CodeBadSignature},
		{"signature of another credential", parts[0] + "." + parts[1] + "." + strings.Split(foreign, ".")[2], ticket.CodeBadSignature},
		{"unknown kid", foreign, ticket.CodeUnknownKey},
		{"a key no longer published", retired, ticket.CodeUnknownKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := k.verify(context.Background(), c.cred)
			if codeOf(err) != c.code {
				t.Fatalf("verify: %v, want code %s", err, c.code)
			}
		})
	}
}
