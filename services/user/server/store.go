package server

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/bus"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/outbox"
	"ticketflow/services/user"
)

// User is a registered user as the API shows it.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

type store struct{ pool *pgxpool.Pool }

// createChecked checks a registration-shaped request, hashes its password and stores the user
// with role; 409 EMAIL_TAKEN when the address belongs to another user.
func (s *store) createChecked(ctx context.Context, req registerRequest, role string) (User, error) {
	if err := req.check(); err != nil {
		return User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.Password), bcrypt.DefaultCost)
	if err != nil {
		return User{}, err
	}
	u := User{ID: ids.New(), Name: req.Name, Email: req.Email, Role: role}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.create(ctx, u, string(hash), now); err != nil {
		if errors.Is(err, user.ErrEmailTaken) {
			return User{}, httpapi.Conflict(user.CodeEmailTaken, "an account with this email already exists")
		}
		return User{}, err
	}
	return u, nil
}

// create stores a user and, in the same transaction, its ticketflow.user.registered message.
func (s *store) create(ctx context.Context, u User, passwordHash string, now time.Time) error {
	msg, err := bus.NewMessage(bus.TopicUserRegistered, u.ID, bus.FactID(u.ID, bus.TopicUserRegistered), now,
		bus.UserRegistered{UserID: u.ID, Email: u.Email, Name: u.Name})
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// ON CONFLICT, not a caught unique violation: a violation makes PostgreSQL log the
		// statement's error with the address in it.
		tag, err := tx.Exec(ctx, `INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (lower(email)) DO NOTHING`, u.ID, u.Name, u.Email, passwordHash, u.Role, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return user.ErrEmailTaken
		}
		return outbox.Write(ctx, tx, msg)
	})
}

// byEmail returns the user with this email (any case) and its password hash.
func (s *store) byEmail(ctx context.Context, email string) (User, string, error) {
	var u User
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT id, name, email, role, password_hash FROM users WHERE lower(email) = lower($1)`,
		email).Scan(&u.ID, &u.Name, &u.Email, &u.Role, &hash)
	return u, hash, err
}

func (s *store) byID(ctx context.Context, id string) (User, error) {
	var u User
	err := s.pool.QueryRow(ctx, `SELECT id, name, email, role FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.Name, &u.Email, &u.Role)
	return u, err
}
