// Package httpapi holds the HTTP conventions every TicketFlow process shares: the contract's one
// error envelope and its writer, strict JSON decoding, request ids, verified identity, health
// answers, the server runner, and the client that services use to call each other.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is an answer in the contract's error shape:
// {"error":{"code":"SCREAMING_SNAKE","message":"...","requestId":"...","details":{...}}}.
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(d map[string]any) *Error {
	c := *e
	c.Details = d
	return &c
}

// Constructors for the contract's codes.
func Validation(msg string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "VALIDATION_ERROR", Message: fmt.Sprintf(msg, args...)}
}

// FieldError is a 400 naming the offending field in its message and details.
func FieldError(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "VALIDATION_ERROR", Message: field + ": " + msg,
		Details: map[string]any{"field": field}}
}

func Unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: msg}
}

func Forbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "FORBIDDEN", Message: msg}
}

func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: what + " not found"}
}

// Conflict is a 409 with a specific code (CONFLICT, EMAIL_TAKEN, SEATS_UNAVAILABLE, ...).
func Conflict(code, msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: code, Message: msg}
}

func TooLarge(msg string) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "PAYLOAD_TOO_LARGE", Message: msg}
}

func RateLimited(msg string) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "RATE_LIMITED", Message: msg}
}

func Unavailable(msg string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE", Message: msg}
}

// Internal is the only 500 a client sees: no stack, no SQL, just the request id to quote.
func Internal() *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "INTERNAL", Message: "internal error"}
}

type envelope struct {
	Error struct {
		*Error
		RequestID string `json:"requestId"`
	} `json:"error"`
}

// WriteError writes err in the contract's shape. An *Error (or one wrapped) is written as it is;
// anything else is logged with the request id and answered as a bare 500.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		slog.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method, "path", r.URL.Path,
			"requestId", RequestID(r.Context()))
		e = Internal()
	}
	var env envelope
	env.Error.Error = e
	env.Error.RequestID = RequestID(r.Context())
	WriteJSON(w, e.Status, env)
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"INTERNAL","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Handle adapts a handler that returns its error instead of writing it, so every handler of
// every service answers errors one way.
func Handle(f func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			WriteError(w, r, err)
		}
	}
}
