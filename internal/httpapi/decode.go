package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxDepth is the deepest JSON nesting any request body may have.
const MaxDepth = 32

// Decode reads a JSON request body into dst, strictly: JSON content type, valid UTF-8, no NUL
// characters, no nesting deeper than MaxDepth, no unknown fields, no key twice, exactly one value.
// Keys match field names exactly: {"EventId":...} is an unknown field, not eventId (json/v2
// semantics, by github.com/go-json-experiment/json, the encoding/json/v2 of Go's experiment).
// Every refusal is a 400 (413 when the body is over the server's limit) naming what is wrong.
func Decode(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return Validation("Content-Type must be application/json")
		}
	} else {
		return Validation("Content-Type must be application/json")
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return TooLarge(fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit))
		}
		return Validation("could not read the request body")
	}
	return DecodeBytes(raw, dst)
}

// DecodeBytes applies Decode's rules to a body already read (Kafka payloads, fuzz targets).
func DecodeBytes(raw []byte, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return Validation("request body is empty; a JSON object is required")
	}
	if !utf8.Valid(raw) {
		return Validation("request body is not valid UTF-8")
	}
	if bytes.Contains(bytes.ToLower(raw), []byte(`\u0000`)) {
		return Validation("request body contains a NUL character")
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return Validation("request body must be a JSON object")
	}
	if depth(raw) > MaxDepth {
		return Validation("request body is nested more than %d levels deep", MaxDepth)
	}
	// RejectUnknownMembers: an unknown key is an error, compared case-sensitively (json/v2
	// matches names exactly). Duplicate keys and invalid UTF-8 are errors by default in v2.
	if err := json.Unmarshal(raw, dst, json.RejectUnknownMembers(true)); err != nil {
		return decodeError(err)
	}
	return nil
}

func decodeError(err error) error {
	var e *Error
	if errors.As(err, &e) { // a field's own UnmarshalJSON refused it in the contract's words
		return e
	}
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName) && errors.As(err, &syn):
		return FieldError(fieldName(syn.JSONPointer), "appears more than once")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Validation("malformed JSON: unexpected end of body")
	case errors.As(err, &syn):
		if strings.Contains(syn.Error(), "after top-level value") {
			return Validation("request body must hold exactly one JSON value")
		}
		return Validation("malformed JSON at byte %d", syn.ByteOffset)
	case errors.Is(err, json.ErrUnknownName) && errors.As(err, &sem):
		return FieldError(fieldName(sem.JSONPointer), "unknown field (names are case-sensitive)")
	case errors.As(err, &sem):
		field := fieldName(sem.JSONPointer)
		if field == "" {
			return Validation("request body must be a JSON object")
		}
		if sem.GoType == nil {
			return FieldError(field, "is not valid")
		}
		t := sem.GoType
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == reflect.TypeFor[time.Time]() {
			return FieldError(field, "must be an RFC 3339 time with zone")
		}
		return FieldError(field, "must be "+jsonKind(t.Kind().String()))
	}
	return Validation("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// fieldName writes a JSON pointer (/paymentMethod/type, /seatIds/3) as the field names of the
// contract's messages (paymentMethod.type, seatIds[3]).
func fieldName(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int32", "int64", "uint", "uint32", "uint64", "float64", "float32":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}

// depth is the deepest nesting of objects and arrays in raw, ignoring brackets inside strings.
func depth(raw []byte) int {
	d, max := 0, 0
	inStr, esc := false, false
	for _, c := range raw {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			d++
			if d > max {
				max = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

// Page reads the contract's pagination parameters: page from 1, limit 1..100 (default 20).
func Page(r *http.Request) (page, limit int, err error) {
	page, limit = 1, 20
	q := r.URL.Query()
	if v := q.Get("page"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 1_000_000 {
			return 0, 0, FieldError("page", "must be a whole number from 1")
		}
		page = n
	}
	if v := q.Get("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 100 {
			return 0, 0, FieldError("limit", "must be a whole number from 1 to 100")
		}
		limit = n
	}
	return page, limit, nil
}

// Text checks a free-text value from a body or a query: valid UTF-8, no control characters
// (newlines and tabs allowed where multiline is true), at most max characters.
func Text(field, v string, max int, multiline bool) error {
	if !utf8.ValidString(v) {
		return FieldError(field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(v) > max {
		return FieldError(field, fmt.Sprintf("must be at most %d characters", max))
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			if multiline && (c == '\n' || c == '\t' || c == '\r') {
				continue
			}
			return FieldError(field, "must not contain control characters")
		}
	}
	return nil
}

// Required is Text for a value that must not be blank.
func Required(field, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return FieldError(field, "is required")
	}
	return Text(field, v, max, false)
}
