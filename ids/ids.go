// Package ids makes and checks TicketFlow's identifiers: UUIDs for users, venues, events,
// bookings and payments; short upper-case strings for seats ("FLOOR-C-7").
package ids

import (
	"crypto/rand"
	"fmt"
	"regexp"
)

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seatPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,63}$`)
)

// New returns a random (version 4) UUID in canonical lower-case form.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// IsUUID reports whether s is a canonical lower-case UUID.
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }

// IsSeat reports whether s has the form of a seat id.
func IsSeat(s string) bool { return seatPattern.MatchString(s) }
