package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/mailaddr"
)

// FuzzRegisterRequest: POST /api/users/register bodies, decoded and checked as the handler does,
// never panic and are refused with a 400; a role (or any other extra field) is refused; an
// accepted request has a clean name, a normalised email address and a password of 8..72
// characters that bcrypt takes whole (at most 72 bytes); checking it again changes nothing.
func FuzzRegisterRequest(f *testing.F) {
	for _, s := range []string{
		`{"name":"Zoë Buyer","email":"  Zoe@Example.COM ","password":"correct-horse-1"}`,
		`{"name":"A","email":"a@b.co","password":"12345678","role":"ADMIN"}`,
		`{"name":"A","email":"a@b.co","password":"` + strings.Repeat("é", 40) + `"}`,
		`{"name":"A","email":"a@b.co","password":"` + strings.Repeat("p", 72) + `"}`,
		`{"name":"' OR 1=1--","email":"x' OR '1'='1@example.com","password":"' OR 1=1--"}`,
		`{"name":"A","email":{"$gt":""},"password":{"$ne":null}}`,
		`{"name":"A","email":"a@b.co\n","password":"12345678"}`,
		`{"name":"A","email":"a@@b.co","password":"12345678"}`,
		`{"name":"A","email":"İ@b.co","password":"12345678"}`,
		`{"name":"A","email":"a@b.co","password":"1234567\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req registerRequest
		err := httpapi.DecodeBytes(raw, &req)
		if err == nil {
			err = req.check()
		}
		if err != nil {
			var e *httpapi.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "VALIDATION_ERROR" {
				t.Fatalf("refusal %v (%T), want a 400 *httpapi.Error", err, err)
			}
			return
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) == nil {
			for k := range fields {
				if k != "name" && k != "email" && k != "password" { // names match exactly (json/v2 semantics)
					t.Fatalf("accepted a body with the field %q", k)
				}
			}
		}
		if strings.TrimSpace(req.Name) == "" || !utf8.ValidString(req.Name) || utf8.RuneCountInString(req.Name) > 200 {
			t.Fatalf("accepted name %q", req.Name)
		}
		if norm, err := mailaddr.Parse(req.Email); err != nil || norm != req.Email || len(req.Email) > 254 ||
			strings.ContainsAny(req.Email, "\x00\r\n\t <>") {
			t.Fatalf("accepted email %q", req.Email)
		}
		if n := utf8.RuneCountInString(req.Password); n < 8 || n > 72 || len(req.Password) > 72 {
			t.Fatalf("accepted a password of %d characters, %d bytes", n, len(req.Password))
		}
		again := req
		if err := again.check(); err != nil || again != req {
			t.Fatalf("checking twice: %v, %+v vs %+v", err, again, req)
		}
	})
}
