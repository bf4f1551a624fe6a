package server

import (
	"testing"

	"ticketflow/internal/mailaddr"
)

// Registration applies the one address rule, and stores the address normalised: the domain in
// lower case, the local part as given.
func TestRegistrationTakesOnlySingleAddresses(t *testing.T) {
	for _, c := range mailaddr.Cases {
		req := registerRequest{Name: "Ann", Email: c.In, Password: "correct-horse-1"}
		err := req.check()
		switch {
		case c.Want == "" && err == nil && c.In != " ann@example.com" && c.In != "ann@example.com ":
			t.Errorf("%q accepted as %q", c.In, req.Email)
		case c.Want != "" && (err != nil || req.Email != c.Want):
			t.Errorf("%q: %v, stored as %q, want %q", c.In, err, req.Email, c.Want)
		}
	}
	// Spaces around the address are the form's and are trimmed; nothing else is.
	req := registerRequest{Name: "Ann", Email: "  Ann@Example.COM ", Password: "correct-horse-1"}
	if err := req.check(); err != nil || req.Email != "Ann@example.com" {
		t.Errorf("trimmed address: %v %q", err, req.Email)
	}
}
