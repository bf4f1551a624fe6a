// Package clock is the time a TicketFlow process decides deadlines by: the system clock, moved by
// TICKETFLOW_CLOCK_OFFSET (a Go duration such as 2m or -2m; the local stack only) so that a
// process can be run with its clock off PostgreSQL's, as the chaos run's clock class does.
//
// Use Now where a process takes the time that decides a deadline: a hold's expiry, a sales
// window, an event's start, a token's expiry, an idempotency key's lease. A duration measured
// within one process (time.Since for a latency, a retry's backoff) needs no clock: the offset is
// the same at both ends. docs/operations.md says which clock decides each deadline.
package clock

import (
	"fmt"
	"os"
	"time"
)

// Env is the variable that moves the clock.
const Env = "TICKETFLOW_CLOCK_OFFSET"

// offset is read once, when the process starts.
var offset, parseErr = Parse(os.Getenv(Env))

// Parse reads an offset ("" is none).
func Parse(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: not a duration (like 2m or -90s)", Env, v)
	}
	return d, nil
}

// Now is the process's time: the system clock plus the offset.
func Now() time.Time { return time.Now().Add(offset) }

// Offset is how far Now is from the system clock.
func Offset() time.Duration { return offset }

// Check reports a TICKETFLOW_CLOCK_OFFSET that does not parse (config.Load refuses to start with
// one, and refuses any offset outside the local stack).
func Check() error { return parseErr }
