package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"

	"ticketflow/internal/auth"
	"ticketflow/internal/telemetry"
)

type ctxKey int

const identityKey ctxKey = iota

// Header names of the contract.
const (
	HeaderRequestID     = "X-Request-Id"
	HeaderUserID        = "X-User-Id"
	HeaderUserEmail     = "X-User-Email"
	HeaderUserRole      = "X-User-Role"
	HeaderInternalToken = "X-Internal-Token"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// NewRequestID returns a fresh random request id.
func NewRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RequestID returns the request id carried by ctx ("" when none). It travels with the trace
// (telemetry's baggage): a workflow's activities and a message's consumers carry the id of the
// request that began the booking.
func RequestID(ctx context.Context) string { return telemetry.RequestID(ctx) }

// WithRequestID returns ctx carrying a request id (used for outgoing internal calls).
func WithRequestID(ctx context.Context, id string) context.Context {
	return telemetry.WithRequestID(ctx, id)
}

// RequestIDs keeps a well-formed incoming X-Request-Id or makes one, and echoes it on the response.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !requestIDPattern.MatchString(id) {
			id = NewRequestID()
			r.Header.Set(HeaderRequestID, id)
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}

// Recover turns a panic into the contract's 500, logging the stack (never sending it).
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				slog.ErrorContext(r.Context(), "panic", "panic", v, "path", r.URL.Path, "stack", string(debug.Stack()))
				WriteError(w, r, Internal())
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// LimitBody caps request bodies; Decode answers 413 past the cap.
func LimitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				WriteError(w, r, TooLarge("request body is too large"))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			next.ServeHTTP(w, r)
		})
	}
}

// Identity returns the verified identity of the request (ok false when it has none).
func Identity(ctx context.Context) (auth.Identity, bool) {
	id, ok := ctx.Value(identityKey).(auth.Identity)
	return id, ok
}

// WithIdentity returns ctx carrying a verified identity.
func WithIdentity(ctx context.Context, id auth.Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// BearerToken is the token of an "Authorization: Bearer <token>" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// Authenticate verifies the caller's token itself (a service never trusts identity headers it
// cannot check) and puts the identity in the context. Without a valid token: 401.
func Authenticate(secret []byte) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := BearerToken(r)
			if !ok {
				WriteError(w, r, Unauthorized("a Bearer token is required"))
				return
			}
			id, err := auth.Verify(secret, tok)
			if err != nil {
				WriteError(w, r, Unauthorized(err.Error()))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
		})
	}
}

// RequireAdmin answers 403 to a verified caller without the ADMIN role.
func RequireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := Identity(r.Context())
		if !ok {
			WriteError(w, r, Unauthorized("a Bearer token is required"))
			return
		}
		if !id.Admin() {
			WriteError(w, r, Forbidden("this needs the ADMIN role"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireScanner answers 403 to a verified caller that is neither SCANNER nor ADMIN.
func RequireScanner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := Identity(r.Context())
		if !ok {
			WriteError(w, r, Unauthorized("a Bearer token is required"))
			return
		}
		if !id.Scanner() {
			WriteError(w, r, Forbidden("this needs the SCANNER or ADMIN role"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// InternalOnly guards a service's internal API: callers must present the internal token.
func InternalOnly(token string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !auth.EqualToken(r.Header.Get(HeaderInternalToken), token) {
				WriteError(w, r, NotFound("route"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
