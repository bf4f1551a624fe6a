// Package httpapi holds the HTTP conventions every TicketFlow process shares: the contract's one
// error envelope and its writer, strict JSON decoding, request ids, verified identity, health
// answers, the server runner, and the client that services use to call each other.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Error is an answer in the contract's error shape:
// {"error":{"code":"SCREAMING_SNAKE","message":"...","requestId":"...","details":{...}}}.
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	// RetryAfter is the Retry-After header's seconds; every 429 and 503 carries one (1 by default).
	RetryAfter int `json:"-"`
}

// NewError is an answer with any status and code.
func NewError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// WithRetryAfter returns a copy of e that tells the client to retry after seconds.
func (e *Error) WithRetryAfter(seconds int) *Error {
	c := *e
	c.RetryAfter = seconds
	return &c
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

// CodeConflict is the code of a 409 that no more specific code names. A specific code is the
// constant of the service that answers it (inventory.CodeSeatsUnavailable, ...).
const CodeConflict = "CONFLICT"

// MethodNotAllowed is the 405 of a request whose path has no route for its method; the caller
// sets the Allow header (RFC 9110 section 15.5.6).
func MethodNotAllowed(r *http.Request) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
		Message: r.Method + " is not allowed on " + r.URL.Path}
}

// Conflict is a 409 with a code: CodeConflict, or the answering service's own.

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
	status, body := RenderError(r, err)
	WriteRaw(w, status, body)
}

// RenderError returns the status and body WriteError writes for err: an *Error as it is; a
// database that cannot take the request (StoreError) as its 503, logged; anything else as a bare
// 500, logged.
func RenderError(r *http.Request, err error) (int, []byte) {
	var e *Error
	if !errors.As(err, &e) {
		if e = StoreError(err); e != nil {
			slog.WarnContext(r.Context(), "store unavailable", "code", e.Code, "err", err, "method", r.Method, "path", r.URL.Path)
		} else {
			slog.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method, "path", r.URL.Path)
			e = Internal()
		}
	}
	var env envelope
	env.Error.Error = e
	env.Error.RequestID = RequestID(r.Context())
	b, _ := json.Marshal(env)
	return e.Status, append(b, '\n')
}

// CodeStorageFull is the 503 of a request whose service's database has no space left to write.
const CodeStorageFull = "STORAGE_FULL"

// storageFullRetry is the Retry-After of STORAGE_FULL: space comes back when an operator (or a
// clean-up) frees it, not within a second.
const storageFullRetry = 30

// StoreError is the answer to a request its service's database (or a connection it needs) could
// not take, whatever the request: a PostgreSQL error (anything with a SQLSTATE, as
// pgconn.PgError has) of class 53, insufficient resources — 503 STORAGE_FULL for a full disk
// (53100), 503 SERVICE_UNAVAILABLE for memory or connections — or of a server shutting down or
// starting (57P01-57P03), or of a lost connection (class 08); a connection that broke mid-reply
// (an unexpected EOF, a network error), one the driver says is safe to retry (nothing was sent:
// a connection already closed) or a deadline that ran out: 503 SERVICE_UNAVAILABLE. nil
// for any other error. A retry may well succeed (with an Idempotency-Key it gets the first
// request's outcome); a 500 would say it cannot.
func StoreError(err error) *Error {
	var st interface{ SQLState() string }
	var ne net.Error
	var retry interface{ SafeToRetry() bool }
	switch {
	case errors.As(err, &st):
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.As(err, &ne),
		errors.Is(err, context.DeadlineExceeded),
		// The driver's own "nothing was sent, retry" (pgconn.SafeToRetry): a connection found
		// closed when the request took it ("conn closed", after a reply was cut on it).
		errors.As(err, &retry) && retry.SafeToRetry():
		return Unavailable("a connection the service needs broke or timed out; retry")
	default:
		return nil
	}
	switch code := st.SQLState(); {
	case code == "53100":
		return NewError(http.StatusServiceUnavailable, CodeStorageFull,
			"the service cannot store anything right now (its database is out of disk space); retry later").WithRetryAfter(storageFullRetry)
	case strings.HasPrefix(code, "53"), strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03":
		return Unavailable("the service's database cannot take requests right now; retry")
	}
	return nil
}

// RetryAfterOf is the Retry-After seconds of an error answer: its own, or 1 for a 429 or 503.
func RetryAfterOf(err error) int {
	var e *Error
	if !errors.As(err, &e) {
		if e = StoreError(err); e == nil {
			return 0
		}
	}
	if e.RetryAfter > 0 {
		return e.RetryAfter
	}
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		return 1
	}
	return 0
}

// WriteRaw writes an already encoded JSON body with the given status; a 429 or 503 gets a
// Retry-After of 1 s unless the header is set.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteJSON writes v as JSON with the given status (a 429 or 503 with Retry-After, as WriteRaw).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"INTERNAL","message":"internal error"}}`)
	}
	WriteRaw(w, status, append(b, '\n'))
}

// Created answers 201 with v and Location naming the new resource (RFC 9110 section 15.3.2).
func Created(w http.ResponseWriter, location string, v any) {
	w.Header().Set("Location", location)
	WriteJSON(w, http.StatusCreated, v)
}

// Handle adapts a handler that returns its error instead of writing it, so every handler of
// every service answers errors one way.
func Handle(f func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			if s := RetryAfterOf(err); s > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(s))
			}
			WriteError(w, r, err)
		}
	}
}
