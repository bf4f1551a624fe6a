package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/clock"
	"ticketflow/internal/httpapi"
	"ticketflow/services/ticket"
)

// keyring holds the service's Ed25519 signing keys. The newest key signs new tickets; a key is
// replaced by a new one when it is older than rotation (or an admin rotates it). Every key stays
// able to verify, and published, until the last event it signed a ticket for is over
// (signing_keys.publish_until, pushed forward as it signs). The private halves live only in the
// service's database and in this struct: no route serves them.
type keyring struct {
	pool     *pgxpool.Pool
	rotation time.Duration

	mu         sync.RWMutex
	keys       map[string]*signingKey // by kid
	active     *signingKey
	lastReload time.Time
}

type signingKey struct {
	kid          string
	public       ed25519.PublicKey
	signer       jose.Signer
	createdAt    time.Time
	publishUntil time.Time
}

// Errors of verify, each answered with its code (see ticket.Code*).
var (
	errMalformed  = httpapi.NewError(400, ticket.CodeCredentialMalformed, "the code is not a TicketFlow ticket")
	errUnknownKey = httpapi.NewError(422, ticket.CodeUnknownKey, "the ticket is signed with a key TicketFlow does not know")
	errSignature  = httpapi.NewError(422, ticket.CodeBadSignature, "the ticket's signature does not match: it was altered")
)

// keyLock serialises rotations across replicas (a PostgreSQL advisory lock key).
const keyLock = 0x7469636b // "tick"

// load reads every key, and makes the first one when there is none (or the newest is too old).
func (k *keyring) load(ctx context.Context) error {
	if err := k.reload(ctx); err != nil {
		return err
	}
	return k.rotateIfDue(ctx)
}

// rotateIfDue makes a new signing key when the newest one is older than the rotation period.
func (k *keyring) rotateIfDue(ctx context.Context) error {
	k.mu.RLock()
	due := k.active == nil || time.Since(k.active.createdAt) >= k.rotation
	k.mu.RUnlock()
	if !due {
		return nil
	}
	_, err := k.rotate(ctx, false)
	return err
}

// rotate makes a new signing key (under an advisory lock, so two replicas make one) unless, when
// force is false, another replica made a fresh one meanwhile. It returns the active key's id.
func (k *keyring) rotate(ctx context.Context, force bool) (string, error) {
	err := pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLock); err != nil {
			return err
		}
		var newest time.Time
		err := tx.QueryRow(ctx, `SELECT created_at FROM signing_keys ORDER BY created_at DESC LIMIT 1`).Scan(&newest)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err == nil && !force && time.Since(newest) < k.rotation {
			return nil
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		sum := sha256.Sum256(pub)
		kid := "k-" + now.Format("20060102") + "-" + hex.EncodeToString(sum[:4])
		_, err = tx.Exec(ctx, `INSERT INTO signing_keys (kid, seed, public_key, created_at, publish_until)
			VALUES ($1, $2, $3, $4, $4)`, kid, priv.Seed(), []byte(pub), now)
		if err == nil {
			slog.InfoContext(ctx, "ticket signing key made", "kid", kid, "forced", force)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("rotate the signing key: %w", err)
	}
	if err := k.reload(ctx); err != nil {
		return "", err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active.kid, nil
}

// reload reads the keys from the database: the newest is the active one.
func (k *keyring) reload(ctx context.Context) error {
	rows, err := k.pool.Query(ctx, `SELECT kid, seed, created_at, publish_until FROM signing_keys ORDER BY created_at`)
	if err != nil {
		return fmt.Errorf("read the signing keys: %w", err)
	}
	keys := map[string]*signingKey{}
	var active *signingKey
	for rows.Next() {
		var kid string
		var seed []byte
		var created, until time.Time
		if err := rows.Scan(&kid, &seed, &created, &until); err != nil {
			return err
		}
		if len(seed) != ed25519.SeedSize {
			return fmt.Errorf("signing key %s: seed of %d bytes", kid, len(seed))
		}
		k.mu.RLock()
		old := k.keys[kid]
		k.mu.RUnlock()
		sk := &signingKey{kid: kid, createdAt: created, publishUntil: until}
		if old != nil {
			sk.public, sk.signer = old.public, old.signer
		} else {
			priv := ed25519.NewKeyFromSeed(seed)
			sk.public = priv.Public().(ed25519.PublicKey)
			sk.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
				(&jose.SignerOptions{}).WithType(ticket.CredentialType))
			if err != nil {
				return fmt.Errorf("signing key %s: %w", kid, err)
			}
		}
		keys[kid] = sk
		active = sk // ordered by creation: the last is the newest
	}
	if err := rows.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	k.keys, k.active, k.lastReload = keys, active, time.Now()
	k.mu.Unlock()
	return nil
}

// signer is the active key, which signs new tickets.
func (k *keyring) current() *signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// sign makes a ticket's credential with key sk.
func (sk *signingKey) sign(c ticket.Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := sk.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// maxCredential bounds what verify reads: a real credential is about 300 bytes.
const maxCredential = 2048

// verify checks a credential offline, as any scanner does: a compact JWS with alg EdDSA, a kid
// this service publishes, a signature that matches, and claims of the expected shape. It answers
// errMalformed, errUnknownKey or errSignature for credentials that admit no one.
func (k *keyring) verify(ctx context.Context, credential string) (ticket.Claims, string, error) {
	var c ticket.Claims
	credential = strings.TrimSpace(credential)
	if len(credential) == 0 || len(credential) > maxCredential || strings.Count(credential, ".") != 2 {
		return c, "", errMalformed
	}
	jws, err := jose.ParseSignedCompact(credential, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return c, "", errMalformed
	}
	h := jws.Signatures[0].Protected
	if h.KeyID == "" || h.ExtraHeaders[jose.HeaderType] != ticket.CredentialType {
		return c, "", errMalformed
	}
	sk := k.key(ctx, h.KeyID)
	if sk == nil {
		return c, h.KeyID, errUnknownKey
	}
	payload, err := jws.Verify(sk.public)
	if err != nil {
		return c, h.KeyID, errSignature
	}
	if err := httpapi.DecodeBytes(payload, &c); err != nil || c.TicketID == "" || c.EventID == "" || c.SeatID == "" {
		return c, h.KeyID, errMalformed
	}
	return c, h.KeyID, nil
}

// key finds a key by kid: one this replica knows, or, at most once a second, one another replica
// made since (a rotation). A key no longer published (its events are over) verifies nothing.
func (k *keyring) key(ctx context.Context, kid string) *signingKey {
	k.mu.RLock()
	sk, stale := k.keys[kid], time.Since(k.lastReload) > time.Second
	k.mu.RUnlock()
	if sk == nil && stale {
		if err := k.reload(ctx); err != nil {
			slog.WarnContext(ctx, "reload signing keys", "err", err)
		}
		k.mu.RLock()
		sk = k.keys[kid]
		k.mu.RUnlock()
	}
	if sk == nil || (sk != k.current() && clock.Now().After(sk.publishUntil)) {
		return nil
	}
	return sk
}

// jwks is GET /api/tickets/keys: the public keys that verify tickets, as a JWK Set (RFC 7517)
// of OKP keys on Ed25519 (RFC 8037): the active key and every older one whose events are not
// over, newest first.
func (k *keyring) jwks(ctx context.Context) (jose.JSONWebKeySet, error) {
	rows, err := k.pool.Query(ctx, `SELECT kid, public_key FROM signing_keys
		WHERE publish_until > now() OR created_at = (SELECT max(created_at) FROM signing_keys)
		ORDER BY created_at DESC`)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for rows.Next() {
		var kid string
		var pub []byte
		if err := rows.Scan(&kid, &pub); err != nil {
			return set, err
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: ed25519.PublicKey(pub), KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"})
	}
	return set, rows.Err()
}
