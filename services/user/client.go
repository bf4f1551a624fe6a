package user

import (
	"context"
	"errors"
	"time"

	"ticketflow/internal/httpapi"
)

// Client is the typed client of the user service's internal API, used by the seed to make its
// admin and demo buyer.
type Client struct{ http *httpapi.Client }

// NewClient returns a client of the user service, whose replicas are at bases.
func NewClient(bases []string, internalToken string, timeout time.Duration) *Client {
	return &Client{http: httpapi.NewBalancedClient(bases, internalToken, timeout)}
}

// NewUser is the body of POST /internal/users: a user with any role (auth.RoleUser or
// auth.RoleAdmin), checked as a registration is.
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
