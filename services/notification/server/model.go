package server

import "time"

// Notification types.
const (
	TypeWelcome          = "WELCOME"
	TypeBookingConfirmed = "BOOKING_CONFIRMED"
	TypeTicketSent       = "TICKET_TRANSFER_SENT"
	TypeTicketReceived   = "TICKET_TRANSFER_RECEIVED"
)

// Notification statuses. FAILED is not final: the consumer retries the message, and a later
// delivery of the same fact tries again.
const (
	StatusPending = "PENDING"
	StatusSent    = "SENT"
	StatusFailed  = "FAILED"
)

// Notification is one email for one fact, as stored. Its _id is the fact's eventId, so however
// often the fact's message arrives there is one notification, and once it is SENT, no more mail.
type Notification struct {
	ID             string `bson:"_id"`
	Type           string `bson:"type"`
	UserID         string `bson:"userId"`
	RecipientEmail string `bson:"recipientEmail"`
	Subject        string `bson:"subject"`
	Body           string `bson:"body"`
	// Tickets are attached to the email, each as its QR code (drawn again at every attempt from
	// the credential, byte for byte the same).
	Tickets   []MailTicket `bson:"tickets,omitempty"`
	Status    string       `bson:"status"`
	Attempts  []Attempt    `bson:"attempts"`
	SentAt    *time.Time   `bson:"sentAt,omitempty"`
	LastError string       `bson:"lastError,omitempty"`
	CreatedAt time.Time    `bson:"createdAt"`
	UpdatedAt time.Time    `bson:"updatedAt"`
}

// MailTicket is a ticket an email carries.
type MailTicket struct {
	ID         string `bson:"id"`
	SeatID     string `bson:"seatId"`
	Credential string `bson:"credential"`
}

// Attempt is one try to hand the email to the SMTP server.
type Attempt struct {
	At    time.Time `bson:"at"`
	OK    bool      `bson:"ok"`
	Error string    `bson:"error,omitempty"`
}

// View is a notification as GET /api/notifications/my shows it.
type View struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	RecipientEmail string    `json:"recipientEmail"`
	Subject        string    `json:"subject"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"createdAt"`
}

func (n *Notification) view() View {
	return View{ID: n.ID, Type: n.Type, RecipientEmail: n.RecipientEmail, Subject: n.Subject, Status: n.Status,
		CreatedAt: n.CreatedAt.UTC()}
}
