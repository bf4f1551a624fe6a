// Package ids makes and checks TicketFlow's identifiers: UUIDs for users, venues, events,
// bookings and payments; short upper-case strings for seats ("FLOOR-C-7").
package ids

import (
	"crypto/rand"
	"crypto/sha1"
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

// Derived returns a UUID (version 5 form) determined by parts: the same parts always give the same
// id. A record that exists once per other record (a booking's payment) takes such an id, so it is
// found by its primary key — the only lookup FerretDB's SQLite backend does not answer with a scan.
func Derived(parts ...string) string {
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
