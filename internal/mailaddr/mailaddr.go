// Package mailaddr is TicketFlow's one rule for email addresses, used by registration, the Kafka
// payload checks and the mailer alike: a single addr-spec (RFC 5322, as the standard library's
// net/mail parses it) with nothing around it, within the limits SMTP sets.
package mailaddr

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of RFC 5321 (section 4.5.3.1): a whole address, its local part, a domain label.
const (
	MaxLen      = 254
	maxLocalLen = 64
	maxLabelLen = 63
)

// ErrInvalid is wrapped by every refusal of Parse.
var ErrInvalid = errors.New("not a single email address")

func invalid(why string) error { return errors.Join(ErrInvalid, errors.New(why)) }

// Parse checks that s is exactly one plain address, local-part@domain, and returns it normalised:
// the domain in lower case, the local part as given (it is compared case-insensitively, but a
// mailbox's own spelling is kept). Refused:
//   - anything net/mail does not parse as one address (dot.@example.test, a..b@example.test);
//   - anything around or inside the address that net/mail would strip: a display name, angle
//     brackets, comments, surrounding spaces, a quoted local part (<a@b.test>, "a b"@c.test);
//   - an address longer than 254 bytes or a local part longer than 64;
//   - a domain that is not a DNS name of two or more labels (no IP literals, no "localhost"):
//     letters, digits and inner hyphens, each label at most 63 bytes, the last one beginning
//     with a letter (as every top-level domain does).
//
// Internationalised local parts and domains (RFC 6531, 6532) are accepted as UTF-8.
func Parse(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid("not valid UTF-8")
	}
	if len(s) > MaxLen {
		return "", invalid("longer than 254 bytes")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", invalid("must be one address such as ann@example.com, without a name, brackets or quotes")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) > maxLocalLen {
		return "", invalid("the part before @ is longer than 64 bytes")
	}
	if strings.HasPrefix(local, `"`) {
		return "", invalid("quoted local parts are not accepted")
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	return local + "@" + strings.ToLower(domain), nil
}

// Valid reports whether Parse accepts s.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

func checkDomain(d string) error {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return invalid("the domain must have a dot, as example.com has")
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return invalid("the domain is not a valid host name")
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
				return invalid("the domain is not a valid host name")
			}
		}
	}
	if first, _ := utf8.DecodeRuneInString(labels[len(labels)-1]); !unicode.IsLetter(first) {
		return invalid("the domain's last label must begin with a letter")
	}
	return nil
}
