package server

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"ticketflow/internal/auth"
	"ticketflow/internal/clock"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/mailaddr"
	"ticketflow/internal/ratelimit"
	"ticketflow/services/user"
)

type api struct {
	store  *store
	secret []byte
	ttl    time.Duration
	// failures throttles logins per email and per client address (brute force), in Redis so that
	// a guesser has one budget however many user replicas answer (per process while Redis is down).
	failures *ratelimit.Shared
	// dummyHash is compared against when the email is unknown, so that both failures take as long.
	dummyHash []byte
}

func (a *api) routes(r chi.Router, internalToken string) {
	r.Post("/api/users/register", httpapi.Handle(a.register))
	r.Post("/api/users/login", httpapi.Handle(a.login))
	r.With(httpapi.Authenticate(a.secret)).Get("/api/users/me", httpapi.Handle(a.me))
	r.With(httpapi.Authenticate(a.secret), httpapi.RequireAdmin).Post("/api/users/scanners", httpapi.Handle(a.createScanner))
	r.With(httpapi.InternalOnly(internalToken)).Post("/internal/users", httpapi.Handle(a.createInternal))
	r.With(httpapi.InternalOnly(internalToken)).Get("/internal/users/{id}", httpapi.Handle(a.getInternal))
	r.With(httpapi.InternalOnly(internalToken)).Get("/internal/users", httpapi.Handle(a.findInternal))
}

type registerRequest struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (q *registerRequest) check() error {
	if err := httpapi.Required("name", q.Name, 200); err != nil {
		return err
	}
	// Surrounding spaces are a form's, not the address's; anything else must be exactly one
	// address. It is stored with its domain in lower case (mailaddr.Parse) and compared
	// case-insensitively.
	email, err := mailaddr.Parse(strings.TrimSpace(q.Email))
	if err != nil {
		return httpapi.FieldError("email", "must be a single email address such as ann@example.com, without a name or angle brackets")
	}
	q.Email = email
	if n := utf8.RuneCountInString(q.Password); n < 8 || n > 72 {
		return httpapi.FieldError("password", "must be 8 to 72 characters")
	}
	if len(q.Password) > 72 {
		return httpapi.FieldError("password", "must be at most 72 bytes")
	}
	return nil
}

type authAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      User      `json:"user"`
}

func (a *api) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	return a.create(w, r, req, auth.RoleUser)
}

// createInternal is POST /internal/users (Client.Create): a user with any role (the seed's
// admin); internal callers only.
func (a *api) createInternal(w http.ResponseWriter, r *http.Request) error {
	var req user.NewUser
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if !auth.ValidRole(req.Role) {
		return httpapi.FieldError("role", "must be USER, ADMIN or SCANNER")
	}
	return a.create(w, r, registerRequest{Name: req.Name, Email: req.Email, Password: req.Password}, req.Role)
}

// createScanner is POST /api/users/scanners (ADMIN): a door-staff account with the SCANNER role,
// checked as a registration is. It answers 201 {user} (no token: the scanner logs in itself).
func (a *api) createScanner(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	u, err := a.store.createChecked(r.Context(), req, auth.RoleScanner)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/users/scanners/"+u.ID)
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"user": u})
	return nil
}

// getInternal is GET /internal/users/{id} (user.Client.Get): the user, or 404.
func (a *api) getInternal(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !ids.IsUUID(id) {
		return httpapi.NotFound("user")
	}
	u, err := a.store.byID(r.Context(), id)
	if errors.Is(err, pgx.ErrNoRows) {
		return httpapi.NotFound("user")
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, user.Account{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role})
	return nil
}

// findInternal is GET /internal/users?email= (user.Client.ByEmail): the user with this address
// (compared case-insensitively), or 404.
func (a *api) findInternal(w http.ResponseWriter, r *http.Request) error {
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	if err := httpapi.Required("email", email, 254); err != nil {
		return err
	}
	u, _, err := a.store.byEmail(r.Context(), email)
	if errors.Is(err, pgx.ErrNoRows) {
		return httpapi.NotFound("user")
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, user.Account{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role})
	return nil
}

func (a *api) create(w http.ResponseWriter, r *http.Request, req registerRequest, role string) error {
	u, err := a.store.createChecked(r.Context(), req, role)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/users/me") // the new user's own resource, with the token answered
	return a.answer(w, http.StatusCreated, u)
}

func (a *api) answer(w http.ResponseWriter, status int, u User) error {
	tok, exp, err := auth.Sign(a.secret, auth.Identity{UserID: u.ID, Email: u.Email, Role: u.Role}, a.ttl, clock.Now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, status, authAnswer{Token: tok, ExpiresAt: exp.UTC(), User: u})
	return nil
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

var errBadLogin = httpapi.Unauthorized("email or password is wrong")

// login answers 401 alike for an unknown email and a wrong password, after the same bcrypt work,
// and throttles repeated failures per email and per client address with 429. The address is the
// one the gateway vouches for (httpapi.ClientIP), never a header the client wrote.
func (a *api) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if err := httpapi.Required("email", email, 254); err != nil {
		return err
	}
	if req.Password == "" || len(req.Password) > 1024 {
		return httpapi.FieldError("password", "is required")
	}
	ctx := r.Context()
	emailKey, ipKey := "email:"+email, "ip:"+httpapi.ClientIP(r, a.secret)
	if a.failures.Blocked(ctx, emailKey) || a.failures.Blocked(ctx, ipKey) {
		return httpapi.RateLimited("too many failed logins; try again later")
	}
	u, hash, err := a.store.byEmail(r.Context(), email)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(a.dummyHash, []byte(req.Password))
	}
	if err != nil || bcrypt.CompareHashAndPassword([]byte(hash), []byte(req.Password)) != nil {
		a.failures.Allow(ctx, emailKey)
		a.failures.Allow(ctx, ipKey)
		return errBadLogin
	}
	a.failures.Reset(ctx, emailKey)
	return a.answer(w, http.StatusOK, u)
}

func (a *api) me(w http.ResponseWriter, r *http.Request) error {
	id, _ := httpapi.Identity(r.Context())
	u, err := a.store.byID(r.Context(), id.UserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return httpapi.NotFound("user")
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}
