//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/tools/seed"
)

// A secret that must never be written to any log of the stack.
type logSecret struct {
	name    string
	literal string         // an exact string, or
	pattern *regexp.Regexp // a pattern
}

// postgresStatement matches the lines PostgreSQL writes to echo the statement of a failed query
// ("... STATEMENT:  INSERT INTO users (id, name, email, password_hash, ...)"): the text of the
// query names the column, never a value (values are bind parameters, not logged).
var postgresStatement = regexp.MustCompile(`^\S+ \S+ \S+ \[\d+\] STATEMENT:`)

// TestLogsHoldNoSecrets exercises the paths that see secrets — register, login right and wrong,
// a duplicate registration, verified and forged tokens, spoofed internal tokens, refused bodies —
// and then reads every log file of the stack: none may hold the JWT secret, the internal token,
// a seeded or freshly registered password, a password hash or a bearer token. It runs beside the
// other parallel tests, so it reads what every serial test and much of the parallel ones wrote.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	secret := []byte(cfg.JWTSecret)
	internalToken := auth.InternalToken(secret)

	// A user with a recognisable password, and everything a client can do with it.
	canary := "Canary-Pw-" + uniq() + "!"
	wrongCanary := "Canary-Wrong-" + uniq() + "!"
	email := "log-canary-" + uniq() + "@example.com"
	c := newClient(t)
	var reg authAnswer
	c.expect(201, "POST", "/api/users/register", map[string]string{"name": "Log Canary", "email": email, "password": canary}, &reg)
	c.expect(409, "POST", "/api/users/register", map[string]string{"name": "Log Canary", "email": email, "password": canary}, nil)
	c.expect(400, "POST", "/api/users/register", map[string]string{"name": "Log Canary", "email": "x" + email,
		"password": canary + strings.Repeat("x", 80)}, nil)
	var login authAnswer
	c.expect(200, "POST", "/api/users/login", map[string]string{"email": email, "password": canary}, &login)
	c.expect(401, "POST", "/api/users/login", map[string]string{"email": email, "password": wrongCanary}, nil)
	c.expect(401, "POST", "/api/users/login", map[string]string{"email": "nobody-" + email, "password": canary}, nil)
	c.expect(400, "POST", "/api/users/login", `{"email":"`+email+`","password":"`+canary+`","extra":1}`, nil)
	c.as(login.Token).expect(200, "GET", "/api/users/me", nil, nil)
	forged, _, err := auth.Sign([]byte("forged-secret-forged-secret-forged!"), auth.Identity{UserID: reg.User.ID, Role: "ADMIN"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	newClient(t).as(forged).expect(401, "GET", "/api/users/me", nil, nil)
	newClient(t).as(forged).expect(401, "GET", "/api/bookings/my", nil, nil)
	// The gateway serves no /internal route (404, or 405 from its web page for a POST).
	if r := newClient(t).do("POST", "/internal/users", map[string]string{"name": "x", "email": "y" + email, "password": canary,
		"role": "ADMIN"}, "X-Internal-Token", internalToken); r.status != 404 && r.status != 405 {
		t.Fatalf("POST /internal/users through the gateway: %d %s", r.status, r.body)
	}
	newClient(t).as(login.Token).expect(404, "GET", "/api/bookings/"+reg.User.ID, nil, nil, "X-Internal-Token", internalToken)
	// A booking, so the saga's processes (worker, bridge, payment, notification) log too.
	e := newEvent(t, 2, 100)
	bc := newClient(t).as(login.Token)
	var b booking
	bc.expect(202, "POST", "/api/bookings", map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"},
		"paymentMethod": map[string]string{"type": "card", "token": "tok_visa"}}, &b)
	waitStatus(t, bc, b.ID, "CONFIRMED", 30*time.Second)

	secrets := []logSecret{
		{name: "the JWT secret", literal: cfg.JWTSecret},
		{name: "the internal token", literal: internalToken},
		{name: "the seeded admin password", literal: seed.AdminPassword},
		{name: "the seeded demo password", literal: seed.DemoPassword},
		{name: "a registered password", literal: canary},
		{name: "a wrong password", literal: wrongCanary},
		{name: "an issued token", literal: login.Token},
		{name: "a forged token", literal: forged},
		{name: "a password hash column", literal: "password_hash"},
		{name: "a bcrypt hash", pattern: regexp.MustCompile(`\$2[abxy]?\$\d\d\$`)},
		{name: "an argon2 hash", pattern: regexp.MustCompile(`\$argon2(id|i|d)\$`)},
		{name: "a JWT", literal: "eyJ"},
		{name: "a bearer credential", pattern: regexp.MustCompile(`(?i)bearer\s+[A-Za-z0-9._~+/=-]{8,}`)},
	}
	// The attack suite's victim's password and token too: the attack tests run beside this one
	// (all parallel), on the scene built once for them all.
	f := attackSetup(t)
	secrets = append(secrets, logSecret{name: "the attack victim's password", literal: f.victimPassword},
		logSecret{name: "the attack victim's token", literal: f.victimToken})

	// Let the processes flush what they log about the requests above.
	time.Sleep(time.Second)
	dir := cfg.LogDir()
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		files++
		scanLog(t, path, secrets)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 9 {
		t.Fatalf("found %d log files under %s; the stack's processes log there", files, dir)
	}
}

// scanLog reports each secret found in the log file at path, with where it is (never the secret).
func scanLog(t *testing.T, path string, secrets []logSecret) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	isPostgres := filepath.Base(path) == "postgres.log"
	r := bufio.NewReaderSize(f, 1<<20)
	found := map[string]int{}
	first := map[string]int{}
	inStatement := false
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if isPostgres {
				// A statement echo runs until the next line that starts with a timestamp.
				if postgresStatement.Match(line) {
					inStatement = true
				} else if len(line) > 0 && line[0] >= '0' && line[0] <= '9' {
					inStatement = false
				}
			}
			for _, s := range secrets {
				hit := false
				switch {
				case s.literal != "":
					hit = bytes.Contains(line, []byte(s.literal))
					// The text of a query may name the column; a value never follows it.
					if hit && s.literal == "password_hash" && inStatement {
						hit = false
					}
				case s.pattern != nil:
					hit = s.pattern.Match(line)
				}
				if hit {
					if found[s.name] == 0 {
						first[s.name] = n
					}
					found[s.name]++
				}
			}
		}
		if err != nil {
			break
		}
	}
	for name, count := range found {
		t.Errorf("%s: %s appears %d time(s), first on line %d", path, name, count, first[name])
	}
	if len(found) == 0 {
		t.Logf("%s: clean", filepath.Base(path))
	}
}
