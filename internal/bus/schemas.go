package bus

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The JSON Schemas (draft 2020-12) of the message envelope and of every topic's payload, one file
// per payload named after its event type (booking.confirmed.json), plus common.json for the
// shared definitions. docs/events.md documents them. Each file states its version ("x-version", an
// annotation validators ignore); a new version only adds what a message may hold, so that every
// message of the versions before still validates (docs/events.md, "Schema versions").
//
//go:embed schemas/*.json
var schemaFiles embed.FS

// schemaBase is the base of the schemas' $id: each file's $id is schemaBase + its file name, so
// their relative $refs ("common.json#/$defs/uuid") resolve among themselves, here and in any
// other validator that loads the directory.
const schemaBase = "https://ticketflow.local/schemas/bus/"

type compiledSchemas struct {
	envelope *jsonschema.Schema
	payloads map[string]*jsonschema.Schema // by topic
}

var loadSchemas = sync.OnceValues(func() (*compiledSchemas, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // date-time is an assertion here, not just an annotation
	names, err := fs.Glob(schemaFiles, "schemas/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		raw, err := schemaFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		if err := c.AddResource(schemaBase+name[len("schemas/"):], doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
	}
	out := &compiledSchemas{payloads: map[string]*jsonschema.Schema{}}
	if out.envelope, err = c.Compile(schemaBase + "envelope.json"); err != nil {
		return nil, err
	}
	for _, topic := range append(append([]string{}, ContractTopics...), ExtraTopics...) {
		s, err := c.Compile(schemaBase + EventType(topic) + ".json")
		if err != nil {
			return nil, fmt.Errorf("schema of %s: %w", topic, err)
		}
		out.payloads[topic] = s
	}
	return out, nil
})

// schemaOf is the compiled schemas and topic's payload schema (an ErrMalformed for a topic
// without one, such as a DLT).
func schemaOf(topic string) (*compiledSchemas, *jsonschema.Schema, error) {
	schemas, err := loadSchemas()
	if err != nil {
		return nil, nil, fmt.Errorf("bus schemas: %w", err)
	}
	s := schemas.payloads[topic]
	if s == nil {
		return nil, nil, fmt.Errorf("%w: no schema for topic %q", ErrMalformed, topic)
	}
	return schemas, s, nil
}

// ValidateMessage checks a message value of topic against the contract: the envelope against
// envelope.json, its eventType against the topic, its payload against the topic's schema, and its
// eventId against the fact's deterministic id (FactID of the payload's bookingId, userId for
// user.registered, ticketId for the ticket topics). The error wraps ErrMalformed and names what is wrong.
func ValidateMessage(topic string, value []byte) error {
	schemas, payloadSchema, err := schemaOf(topic)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
	if err != nil {
		return fmt.Errorf("%w: %s value is not JSON: %v", ErrMalformed, topic, err)
	}
	if err := schemas.envelope.Validate(doc); err != nil {
		return fmt.Errorf("%w: %s envelope: %s", ErrMalformed, topic, explain(err))
	}
	env := doc.(map[string]any) // the envelope schema guarantees an object with these members
	if got := env["eventType"].(string); got != EventType(topic) {
		return fmt.Errorf("%w: eventType %q on topic %s, want %q", ErrMalformed, got, topic, EventType(topic))
	}
	payload := env["payload"].(map[string]any)
	if err := payloadSchema.Validate(payload); err != nil {
		return fmt.Errorf("%w: %s payload: %s", ErrMalformed, topic, explain(err))
	}
	subject := subjectField(topic)
	id, _ := payload[subject].(string) // required by the payload schema
	if want := FactID(id, topic); env["eventId"] != want {
		return fmt.Errorf("%w: eventId %q on %s, want %q (FactID of the payload's %s)", ErrMalformed, env["eventId"], topic, want, subject)
	}
	return nil
}

// ValidatePayload checks a payload of topic, as JSON, against the topic's schema: what every
// consumer does before it decodes one (DecodePayload). The error wraps ErrMalformed and names
// the fields that are wrong, in words fit for a DLT reason.
func ValidatePayload(topic string, raw []byte) error {
	_, s, err := schemaOf(topic)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%w: payload is not JSON: %v", ErrMalformed, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%w: payload: %s", ErrMalformed, explain(err))
	}
	return nil
}

// CheckPayload is ValidatePayload for a payload value (a bus payload type, or what an API
// decoded into one).
func CheckPayload(topic string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return ValidatePayload(topic, raw)
}

// definitionWords say what a value of each shared definition (common.json) must be, so that a
// refusal reads "bookingId must be a UUID" rather than quoting a regular expression.
var definitionWords = map[string]string{
	"uuid":           "must be a UUID (lower case)",
	"seatIds":        "must hold 1..10 distinct seat ids (such as FLOOR-C-7)",
	"bookingSeatIds": "must hold 0..10 distinct seat ids (such as FLOOR-C-7)",
	"quantities":     "must list 1..10 areas, each {section: an area key such as PIT, quantity: 1..10}",
	"amountMinor":    "must be a whole number of minor units, 0 or more",
	"currency":       "must be an ISO-4217 code (three capital letters)",
	"email":          "must be an email address",
	"name":           "must be 1..200 characters, not blank, without control characters",
	"reason":         "must be a non-empty string",
	"dateTime":       "must be an RFC 3339 time with zone",
}

var printer = message.NewPrinter(language.English)

// explain turns a schema validation error into one line: each failing value's field and what is
// wrong with it ("bookingId must be a UUID (lower case); missing property 'currency'").
func explain(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var lines []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		field := strings.Join(e.InstanceLocation, ".")
		if i := strings.Index(e.SchemaURL, "common.json#/$defs/"); i >= 0 {
			def := strings.SplitN(e.SchemaURL[i+len("common.json#/$defs/"):], "/", 2)[0]
			if words, ok := definitionWords[def]; ok && field != "" {
				lines = append(lines, field+" "+words)
				return
			}
		}
		if _, ok := e.ErrorKind.(*kind.FalseSchema); ok && field != "" {
			lines = append(lines, field+" must not be present here")
			return
		}
		if len(e.Causes) == 0 {
			msg := e.ErrorKind.LocalizedString(printer)
			if field != "" {
				msg = field + ": " + msg
			}
			lines = append(lines, msg)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.Sort(lines)
	lines = slices.Compact(lines)
	if len(lines) > 3 {
		lines = append(lines[:3], fmt.Sprintf("and %d more", len(lines)-3))
	}
	return strings.Join(lines, "; ")
}
