package user

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"ticketflow/internal/httpapi"
)

// Client is the typed client of the user service's internal API, used by the seed to make its
// admin and demo buyer, and by the ticket service to name a ticket's holder and find the account
// a ticket is transferred to.
type Client struct{ http *httpapi.Client }

// NewClient returns a client of the user service, whose replicas are at bases.
func NewClient(bases []string, internalToken string, timeout time.Duration) *Client {
	return &Client{http: httpapi.NewBalancedClient(bases, internalToken, timeout)}
}

// NewUser is the body of POST /internal/users: a user with any role (auth.RoleUser,
// auth.RoleAdmin or auth.RoleScanner), checked as a registration is.
type NewUser struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

// Create makes the user; ErrEmailTaken when the email belongs to a user already, a 400
// *httpapi.Error for a user the service refuses.
func (c *Client) Create(ctx context.Context, u NewUser) error {
	err := c.http.Post(ctx, "/internal/users", u, nil)
	if e := (*httpapi.Error)(nil); errors.As(err, &e) && e.Code == CodeEmailTaken {
		return ErrEmailTaken
	}
	return err
}

// Account is a user as the internal API shows it (GET /internal/users/{id}, ?email=).
type Account struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

// Get returns the user with this id; ErrNoUser when there is none.
func (c *Client) Get(ctx context.Context, id string) (Account, error) {
	var a Account
	err := c.http.Get(ctx, "/internal/users/"+url.PathEscape(id), &a)
	if httpapi.IsStatus(err, http.StatusNotFound) {
		return Account{}, ErrNoUser
	}
	return a, err
}

// ByEmail returns the user registered with this address (compared case-insensitively);
// ErrNoUser when there is none.
func (c *Client) ByEmail(ctx context.Context, email string) (Account, error) {
	var a Account
	err := c.http.Get(ctx, "/internal/users?email="+url.QueryEscape(email), &a)
	if httpapi.IsStatus(err, http.StatusNotFound) {
		return Account{}, ErrNoUser
	}
	return a, err
}
