// Package user is the user service's contract: the typed Client of its internal API and the
// error codes it answers. Other processes import this package, never the server
// (services/user/server).
package user

import "errors"

// ErrEmailTaken is returned when the email (case-insensitively) belongs to another user; the API
// answers it 409 CodeEmailTaken.
var ErrEmailTaken = errors.New("email taken")

// ErrNoUser is Client's answer for a user that does not exist.
var ErrNoUser = errors.New("no such user")

// CodeEmailTaken is the 409 code of a registration whose email belongs to another user.
const CodeEmailTaken = "EMAIL_TAKEN"
