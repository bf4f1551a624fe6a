package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth is the deepest JSON nesting any request body may have.
const MaxDepth = 32

// Decode reads a JSON request body into dst, strictly: JSON content type, valid UTF-8, no NUL
// characters, no nesting deeper than MaxDepth, no unknown fields, exactly one value. Every refusal
// is a 400 (413 when the body is over the server's limit) naming what is wrong.
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
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return Validation("request body must hold exactly one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Validation("request body must hold exactly one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return Validation("malformed JSON at byte %d", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Validation("malformed JSON: unexpected end of body")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return Validation("request body must be a JSON object")
		}
		return FieldError(field, "must be "+jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return FieldError(name, "unknown field")
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Validation("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
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
