package server

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // venue time zones resolve on any machine, with or without a zoneinfo database

	"ticketflow/internal/httpapi"
)

// Event times (date, salesStartAt, salesEndAt) are strict RFC 3339 in requests and are kept, and
// answered, at whole seconds in UTC; answers add them at the venue's local time too.

// rfc3339 is RFC 3339's date-time (section 5.6): a full date, T, a full time with optional
// fraction, and a zone, Z or ±hh:mm. time.Parse alone takes more (an offset of +24:00, one-digit
// fields in some layouts).
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$`)

const timeHint = "must be an RFC 3339 time with zone, such as 2027-03-12T20:00:00+01:00"

// parseTime reads an event time: strict RFC 3339, years 1970 to 9999, offsets of at most
// ±23:59. A fraction of a second is dropped: event times are kept at whole seconds.
func parseTime(field, s string) (time.Time, error) {
	m := rfc3339.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, httpapi.FieldError(field, timeHint)
	}
	if m[3] != "" {
		hh, _ := strconv.Atoi(m[3])
		mm, _ := strconv.Atoi(m[4])
		if hh > 23 || mm > 59 {
			return time.Time{}, httpapi.FieldError(field, "has an offset out of range (at most ±23:59)")
		}
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, httpapi.FieldError(field, timeHint+" (a real date and time of day)")
	}
	if t.Year() < 1970 {
		return time.Time{}, httpapi.FieldError(field, "must be in 1970 or later")
	}
	return t.Truncate(time.Second).UTC(), nil
}

// timeField is an event time in a request body: absent, null, or a string parsed by parseTime.
type timeField struct {
	set, null bool
	raw       json.RawMessage
}

func (f *timeField) UnmarshalJSON(b []byte) error {
	f.set, f.null = true, string(b) == "null"
	f.raw = append(f.raw[:0], b...)
	return nil
}

// parse reads the field; nil when it is absent or null.
func (f *timeField) parse(field string) (*time.Time, error) {
	if !f.set || f.null {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(f.raw, &s); err != nil {
		return nil, httpapi.FieldError(field, timeHint)
	}
	t, err := parseTime(field, s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// parseSet reads a field that was given and may not be null.
func (f *timeField) parseSet(field string) (time.Time, error) {
	if f.null {
		return time.Time{}, httpapi.FieldError(field, timeHint)
	}
	t, err := f.parse(field)
	if err != nil {
		return time.Time{}, err
	}
	return *t, nil
}

// checkTimezone checks an IANA time zone name (Europe/Oslo) as the venue's.
func checkTimezone(name string) error {
	if name == "" {
		return httpapi.FieldError("timezone", "is required: the venue's IANA time zone, such as Europe/Oslo")
	}
	if name == "Local" || len(name) > 64 {
		return httpapi.FieldError("timezone", "must be an IANA time zone name, such as Europe/Oslo")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return httpapi.FieldError("timezone", "is not an IANA time zone name (such as Europe/Oslo)")
	}
	return nil
}

// localTime is t at the venue, as RFC 3339 with the venue's offset then (always numeric, +00:00
// rather than Z: it is a local time); nil when the venue has no time zone (venues made before
// they had one).
func localTime(t time.Time, tz string) *string {
	if tz == "" {
		return nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil
	}
	s := t.In(loc).Format("2006-01-02T15:04:05-07:00")
	return &s
}
