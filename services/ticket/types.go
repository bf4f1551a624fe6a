// Package ticket is the ticket service's contract: the typed Client of its internal API (issue a
// booking's tickets, revoke them, read them for an email), the ticket's wire shape, the credential's
// claims and the error codes the service answers. Other processes import this package, never the
// server (services/ticket/server).
package ticket

import "time"

// Ticket statuses.
const (
	// StatusValid is a ticket whose credential admits its holder once.
	StatusValid = "VALID"
	// StatusRevoked is a ticket that no longer admits anyone: its booking was cancelled or
	// refunded, or it was transferred (a new ticket replaces it). Its id is on the event's
	// revocation list.
	StatusRevoked = "REVOKED"
)

// Ticket is one seat's ticket as the API shows it. Credential is the compact JWS a scanner checks
// (see Claims); QR is that credential drawn as a QR code, a PNG as a data: URI. A revoked ticket
// keeps its id and seat but shows neither credential nor QR.
type Ticket struct {
	ID            string     `json:"id"`
	BookingID     string     `json:"bookingId"`
	EventID       string     `json:"eventId"`
	EventName     string     `json:"eventName"`
	EventStartsAt time.Time  `json:"eventStartsAt"`
	SeatID        string     `json:"seatId"`
	HolderName    string     `json:"holderName"`
	HolderEmail   string     `json:"holderEmail"`
	Status        string     `json:"status"`
	IssuedAt      time.Time  `json:"issuedAt"`
	KeyID         string     `json:"kid"`
	Credential    string     `json:"credential,omitempty"`
	QR            string     `json:"qr,omitempty"`
	RevokedAt     *time.Time `json:"revokedAt,omitempty"`
	RevokedReason string     `json:"revokedReason,omitempty"`
	// ReplacedBy names the ticket a transfer issued in this one's place.
	ReplacedBy  string     `json:"replacedBy,omitempty"`
	CheckedInAt *time.Time `json:"checkedInAt,omitempty"`
	Gate        string     `json:"gate,omitempty"`
}

// Claims are the payload of a ticket's credential, a compact JWS (RFC 7515) signed with EdDSA over
// Ed25519 (RFC 8037) whose protected header carries "alg":"EdDSA", the signing key's "kid" and
// "typ":"ticketflow-ticket+jwt". Anyone can verify it offline with the keys of
// GET /api/tickets/keys.
type Claims struct {
	TicketID string `json:"tid"`
	EventID  string `json:"eid"`
	SeatID   string `json:"seat"`
	Holder   string `json:"name"`
	IssuedAt int64  `json:"iat"` // seconds since the epoch
}

// CredentialType is the "typ" header of every ticket credential.
const CredentialType = "ticketflow-ticket+jwt"

// Error codes the ticket service answers (with the status beside each).
const (
	// CodeAlreadyCheckedIn (409): the ticket was admitted before; details carry the first
	// scan's checkedInAt and gate.
	CodeAlreadyCheckedIn = "ALREADY_CHECKED_IN"
	// CodeTicketRevoked (409): the ticket was revoked (cancelled, refunded or transferred).
	CodeTicketRevoked = "TICKET_REVOKED"
	// CodeCredentialMalformed (400): not a compact JWS of ours at all (garbage, another
	// algorithm, unreadable claims).
	CodeCredentialMalformed = "CREDENTIAL_MALFORMED"
	// CodeUnknownKey (422): signed with a key id this service never published (or no longer does).
	CodeUnknownKey = "CREDENTIAL_UNKNOWN_KEY"
	// CodeBadSignature (422): the signature does not match: the credential was altered.
	CodeBadSignature = "CREDENTIAL_BAD_SIGNATURE"
	// CodeWrongEvent (422): a valid ticket of another event than the one being scanned.
	CodeWrongEvent = "WRONG_EVENT"
	// CodeTicketCheckedIn (409): a transfer of a ticket already used at the door.
	CodeTicketCheckedIn = "TICKET_CHECKED_IN"
	// CodeEventOver (409): a transfer of a ticket whose event has begun or ended.
	CodeEventOver = "EVENT_OVER"
	// CodeRecipientNotFound (404): a transfer to an address no account is registered with.
	CodeRecipientNotFound = "RECIPIENT_NOT_FOUND"
)

// Scan outcomes of a batch of offline scans (POST /api/checkins/batch), one per scan.
const (
	// ScanAdmitted: this scan is the ticket's check-in (the earliest scan known).
	ScanAdmitted = "ADMITTED"
	// ScanDuplicate: the ticket was checked in by an earlier scan (named in the result).
	ScanDuplicate = "DUPLICATE"
	// ScanRefused: the credential does not admit anyone (its code says why).
	ScanRefused = "REFUSED"
)
