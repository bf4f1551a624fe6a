package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// A database that cannot take a request is a 503 the client may retry, with a code that says why
// (a full disk: STORAGE_FULL, with a Retry-After of its own), never a 500: found by the chaos
// run's disk-full class, where a full PostgreSQL answered 500 INTERNAL, and its lost-replies
// class, where a booking whose database reply was cut answered the buyer 500 (a retry with its
// Idempotency-Key gets the booking's decision).
func TestStoreErrorsAre503(t *testing.T) {
	cases := []struct {
		sqlstate   string
		status     int
		code       string
		retryAfter string
	}{
		{"53100", 503, "STORAGE_FULL", "30"},        // disk_full
		{"53200", 503, "SERVICE_UNAVAILABLE", "1"},  // out_of_memory
		{"53300", 503, "SERVICE_UNAVAILABLE", "1"},  // too_many_connections
		{"57P01", 503, "SERVICE_UNAVAILABLE", "1"},  // admin_shutdown
		{"08006", 503, "SERVICE_UNAVAILABLE", "1"},  // connection_failure
		{"EOF", 503, "SERVICE_UNAVAILABLE", "1"},    // the reply cut mid-way (chaos lost-replies: 500)
		{"reset", 503, "SERVICE_UNAVAILABLE", "1"},  // the connection reset
		{"closed", 503, "SERVICE_UNAVAILABLE", "1"}, // a pooled connection found closed (chaos lost-replies: 500)
		{"23505", 500, "INTERNAL", ""},              // unique_violation: a bug, not an outage
	}
	for _, c := range cases {
		var err error = fmt.Errorf("insert booking: %w", &pgconn.PgError{Code: c.sqlstate, Message: "could not extend file"})
		switch c.sqlstate {
		case "EOF":
			err = fmt.Errorf("insert booking: %w", io.ErrUnexpectedEOF)
		case "reset":
			err = fmt.Errorf("insert booking: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
		case "closed":
			err = fmt.Errorf("insert booking: %w", closedConnError(t))
		}
		rec := httptest.NewRecorder()
		Handle(func(http.ResponseWriter, *http.Request) error { return err })(rec, httptest.NewRequest(http.MethodPost, "/api/bookings", nil))
		var body struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != c.status || body.Error.Code != c.code || rec.Header().Get("Retry-After") != c.retryAfter {
			t.Errorf("SQLSTATE %s: %d %s (Retry-After %q), want %d %s (Retry-After %q)", c.sqlstate, rec.Code, body.Error.Code,
				rec.Header().Get("Retry-After"), c.status, c.code, c.retryAfter)
		}
	}
}

// closedConnError is the error pgx gives a query on a connection it has already closed (as a
// pooled connection is after a reply was cut on it): "conn closed".
func closedConnError(t *testing.T) error {
	t.Helper()
	client, server := net.Pipe()
	defer server.Close()
	cfg, err := pgconn.ParseConfig("host=127.0.0.1") // the driver's defaults; nothing is dialled
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pgconn.Construct(&pgconn.HijackedConn{Conn: client, Frontend: pgproto3.NewFrontend(client, client),
		Config: cfg, ParameterStatuses: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // close without a goodbye to the (absent) server
	_ = pc.Close(ctx)
	_, err = pc.Exec(context.Background(), "SELECT 1").ReadAll()
	if !errors.Is(err, pgconn.ErrConnClosed) {
		t.Fatalf("a query on a closed connection: %v, want pgconn.ErrConnClosed", err)
	}
	return err
}
