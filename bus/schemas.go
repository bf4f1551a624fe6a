package bus

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The JSON Schemas (draft 2020-12) of the message envelope and of every topic's payload, one file
// per payload named after its event type (booking.confirmed.json), plus common.json for the
// shared definitions. docs/events.md documents them.
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

// ValidateMessage checks a message value of topic against the contract: the envelope against
// envelope.json, its eventType against the topic, its payload against the topic's schema, and its
// eventId against the fact's deterministic id (FactID of the payload's bookingId, or userId for
// user.registered). The error wraps ErrMalformed and names what is wrong.
func ValidateMessage(topic string, value []byte) error {
	schemas, err := loadSchemas()
	if err != nil {
		return fmt.Errorf("bus schemas: %w", err)
	}
	payloadSchema := schemas.payloads[topic]
	if payloadSchema == nil {
		return fmt.Errorf("%w: no schema for topic %q", ErrMalformed, topic)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
	if err != nil {
		return fmt.Errorf("%w: %s value is not JSON: %v", ErrMalformed, topic, err)
	}
	if err := schemas.envelope.Validate(doc); err != nil {
		return fmt.Errorf("%w: %s envelope: %v", ErrMalformed, topic, err)
	}
	env := doc.(map[string]any) // the envelope schema guarantees an object with these members
	if got := env["eventType"].(string); got != EventType(topic) {
		return fmt.Errorf("%w: eventType %q on topic %s, want %q", ErrMalformed, got, topic, EventType(topic))
	}
	payload := env["payload"].(map[string]any)
	if err := payloadSchema.Validate(payload); err != nil {
		return fmt.Errorf("%w: %s payload: %v", ErrMalformed, topic, err)
	}
	subject := "bookingId"
	if topic == TopicUserRegistered {
		subject = "userId"
	}
	id, _ := payload[subject].(string) // required by the payload schema
	if want := FactID(id, topic); env["eventId"] != want {
		return fmt.Errorf("%w: eventId %q on %s, want %q (FactID of the payload's %s)", ErrMalformed, env["eventId"], topic, want, subject)
	}
	return nil
}
