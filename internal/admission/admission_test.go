package admission

import (
	"errors"
	"testing"
	"time"

	"ticketflow/internal/auth"
)

func TestVerifyTellsEachRefusalApart(t *testing.T) {
	secret := []byte("a-secret-of-thirty-two-bytes-or-more")
	key := Key(secret)
	now := time.Unix(1_800_000_000, 0)
	p := Pass{UserID: "u1", EventID: "e1", AdmittedAt: now, Until: now.Add(10 * time.Minute)}
	tok, err := Sign(key, p)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Sign(key, p)
	if again != tok {
		t.Fatal("the same admission signed twice gave two tokens")
	}
	otherKey, _ := Sign(Key([]byte("another-secret-of-thirty-two-bytes!")), p)
	access, _, _ := auth.Sign(secret, auth.Identity{UserID: "u1", Role: auth.RoleUser}, time.Hour, now)
	accessWithKey, _, _ := auth.Sign(key, auth.Identity{UserID: "u1", Role: auth.RoleUser}, time.Hour, now)
	cases := []struct {
		name, token, user, event string
		at                       time.Time
		want                     error
	}{
		{"valid", tok, "u1", "e1", now.Add(time.Minute), nil},
		{"valid to its last second", tok, "u1", "e1", now.Add(10*time.Minute - time.Second), nil},
		{"expired", tok, "u1", "e1", now.Add(10*time.Minute + time.Second), ErrExpired},
		{"another account", tok, "u2", "e1", now, ErrOtherUser},
		{"another event", tok, "u1", "e2", now, ErrOtherEvent},
		{"another deployment's key", otherKey, "u1", "e1", now, ErrForged},
		{"an access token is no admission", access, "u1", "e1", now, ErrForged},
		{"signed with the key but no admission", accessWithKey, "u1", "e1", now, ErrForged},
		{"tampered", tok[:len(tok)-2] + "xx", "u1", "e1", now, ErrForged},
		{"garbage", "not-a-token", "u1", "e1", now, ErrForged},
		{"empty", "", "u1", "e1", now, ErrForged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Verify(key, c.token, c.user, c.event, c.at)
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if err == nil && (!got.Until.Equal(p.Until) || !got.AdmittedAt.Equal(p.AdmittedAt) || got.UserID != "u1") {
				t.Fatalf("pass %+v, want %+v", got, p)
			}
		})
	}
}
