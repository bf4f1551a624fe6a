// Package seed creates the demo data of a fresh stack through the services' APIs: an admin, a
// demo user and a door-staff (SCANNER) account (credentials printed), three venues (each with its time zone) and three events with
// seat plans of 80 to 120 seats, on sale now and dated one, two and three months after the first
// seeding, at an evening hour of the venue. Running it again changes nothing.
package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/seatplan"
	"ticketflow/services/user"
	"ticketflow/tools/devstack"
)

// Demo credentials, printed by `make run` on a fresh data dir.
const (
	AdminEmail    = "admin@ticketflow.local"
	AdminPassword = "admin-password-123"
	DemoEmail     = "demo@ticketflow.local"
	DemoPassword  = "demo-password-123"
	DoorEmail     = "door@ticketflow.local"
	DoorPassword  = "door-password-123"
)

type venue struct{ Name, Address, City, Country, Timezone string }

type event struct {
	Key, Name, Description, Currency string
	Venue                            int
	InDays, Hour, Minute             int // the date: this many days from the seeding, at this local time
	Tags                             []string
	Sections                         []seatplan.Section
}

// date is the event's date for a seeding at now: InDays later, at Hour:Minute at the venue.
func (e event) date(now time.Time) (time.Time, error) {
	loc, err := time.LoadLocation(venues[e.Venue].Timezone)
	if err != nil {
		return time.Time{}, err
	}
	d := now.In(loc).AddDate(0, 0, e.InDays)
	return time.Date(d.Year(), d.Month(), d.Day(), e.Hour, e.Minute, 0, 0, loc).UTC(), nil
}

func rows(labels string, seats int) []seatplan.Row {
	var out []seatplan.Row
	for _, l := range labels {
		out = append(out, seatplan.Row{Label: string(l), Seats: seats})
	}
	return out
}

var venues = []venue{
	{"Harbor Hall", "Langkaia 1", "Oslo", "NO", "Europe/Oslo"},
	{"The Old Playhouse", "103 The Cut", "London", "GB", "Europe/London"},
	{"Blue Dawn Club", "Rua da Prata 22", "Lisbon", "PT", "Europe/Lisbon"},
}

var events = []event{
	{Key: "seed-event-synths", Name: "Aurora Live: Night of Synths", Currency: "EUR", Venue: 0,
		Description: "Modular synthesizers under the northern lights.", Tags: []string{"music", "electronic"},
		InDays: 30, Hour: 20,
		Sections: []seatplan.Section{{Name: "Floor", PriceMinor: 8900, Rows: rows("ABCD", 10)},
			{Name: "Balcony", PriceMinor: 5900, Rows: rows("EFGH", 12)}}}, // 88 seats
	{Key: "seed-event-tempest", Name: "The Tempest", Currency: "GBP", Venue: 1,
		Description: "Shakespeare's last play, in the round.", Tags: []string{"theatre"},
		InDays: 60, Hour: 19, Minute: 30,
		Sections: []seatplan.Section{{Name: "Stalls", PriceMinor: 7500, Rows: rows("ABCDEF", 12)},
			{Name: "Circle", PriceMinor: 4500, Rows: rows("GH", 12)}}}, // 96 seats
	{Key: "seed-event-jazz", Name: "Jazz at Dawn", Currency: "EUR", Venue: 2,
		Description: "A quartet plays until the sun comes up.", Tags: []string{"music", "jazz"},
		InDays: 90, Hour: 22,
		Sections: []seatplan.Section{{Name: "Front", PriceMinor: 12000, Rows: rows("AB", 10)},
			{Name: "Main", PriceMinor: 6000, Rows: rows("CDEFGH", 15)}}}, // 110 seats
}

// Run seeds the stack of cfg and prints the credentials to out.
func Run(ctx context.Context, cfg *devstack.Settings, out io.Writer) error {
	token := auth.InternalToken([]byte(cfg.JWTSecret))
	users := user.NewClient([]string{cfg.URLs[config.User]}, token, 30*time.Second)
	gw := httpapi.NewClient(cfg.URLs[config.Gateway], "", 60*time.Second)

	for _, u := range []struct{ name, email, password, role string }{
		{"Ada Admin", AdminEmail, AdminPassword, auth.RoleAdmin},
		{"Demo Buyer", DemoEmail, DemoPassword, auth.RoleUser},
		{"Door Staff", DoorEmail, DoorPassword, auth.RoleScanner},
	} {
		err := users.Create(ctx, user.NewUser{Name: u.name, Email: u.email, Password: u.password, Role: u.role})
		if err != nil && !errors.Is(err, user.ErrEmailTaken) {
			return fmt.Errorf("create %s: %w", u.email, err)
		}
	}
	var login struct {
		Token string `json:"token"`
	}
	if err := gw.Post(ctx, "/api/users/login", map[string]string{"email": AdminEmail, "password": AdminPassword}, &login); err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	admin := gw.WithBearer(login.Token)

	var existing struct {
		Venues []struct{ ID, Name string } `json:"venues"`
	}
	if err := gw.Get(ctx, "/api/venues?limit=100", &existing); err != nil {
		return err
	}
	venueIDs := make([]string, len(venues))
	for i, v := range venues {
		for _, e := range existing.Venues {
			if e.Name == v.Name {
				venueIDs[i] = e.ID
			}
		}
		if venueIDs[i] != "" {
			continue
		}
		var created struct{ ID string }
		if err := admin.Post(ctx, "/api/venues", map[string]string{"name": v.Name, "address": v.Address,
			"city": v.City, "country": v.Country, "timezone": v.Timezone}, &created); err != nil {
			return fmt.Errorf("create venue %s: %w", v.Name, err)
		}
		venueIDs[i] = created.ID
	}
	now := time.Now()
	for _, e := range events {
		date, err := e.date(now)
		if err != nil {
			return err
		}
		body := map[string]any{"name": e.Name, "description": e.Description, "venueId": venueIDs[e.Venue],
			"date": date, "currency": e.Currency, "tags": e.Tags, "sections": e.Sections}
		// The Idempotency-Key makes a second seed return the same event instead of a copy.
		if err := admin.WithHeader("Idempotency-Key", e.Key).Post(ctx, "/api/events", body, nil); err != nil {
			return fmt.Errorf("create event %s: %w", e.Name, err)
		}
	}
	if interactive(out) {
		fmt.Fprintf(out, "demo data ready: 3 venues, 3 events\n  admin  %s / %s\n  buyer  %s / %s\n  door   %s / %s\n",
			AdminEmail, AdminPassword, DemoEmail, DemoPassword, DoorEmail, DoorPassword)
	} else {
		// A log file (a stack started in the background logs to dev.log): no passwords in logs.
		fmt.Fprintf(out, "demo data ready: 3 venues, 3 events\n  admin  %s\n  buyer  %s\n  door   %s\n  (passwords in README.md)\n",
			AdminEmail, DemoEmail, DoorEmail)
	}
	return nil
}

// interactive reports whether w is a terminal, where the demo passwords may be shown.
func interactive(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
