-- The ticket service's store (issue 27): its signing keys, each booking's issuance, the tickets,
-- their check-ins and every scan, and the outbox of its Kafka facts.

-- Ed25519 signing keys. The private half (its 32-byte seed) never leaves this database and this
-- service: nothing serves it. A key signs new tickets while it is the newest; it stays published
-- (GET /api/tickets/keys) until every event it signed a ticket for is over (publish_until).
CREATE TABLE signing_keys (
    kid           text PRIMARY KEY,
    seed          bytea NOT NULL,
    public_key    bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    publish_until timestamptz NOT NULL
);
CREATE INDEX signing_keys_newest ON signing_keys (created_at DESC);

-- One row per booking issued (or revoked before it was issued): what makes issuing idempotent per
-- booking and a late issue after a revoke issue nothing.
CREATE TABLE issuances (
    booking_id  uuid PRIMARY KEY,
    user_id     uuid,           -- the booking's owner, once issued
    event_id    uuid,
    issued_at   timestamptz,
    revoked_at  timestamptz,
    revoked_reason text
);

CREATE TABLE tickets (
    id              uuid PRIMARY KEY,
    booking_id      uuid NOT NULL,
    event_id        uuid NOT NULL,
    event_name      text NOT NULL,
    event_starts_at timestamptz NOT NULL,
    seat_id         text NOT NULL,
    holder_user_id  uuid NOT NULL,
    holder_name     text NOT NULL,
    holder_email    text NOT NULL,
    issued_at       timestamptz NOT NULL,
    kid             text NOT NULL REFERENCES signing_keys (kid),
    credential      text NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text,
    replaced_by     uuid
);
-- One valid ticket per seat of a booking: a transfer revokes the old one in the transaction that
-- issues the new one.
CREATE UNIQUE INDEX tickets_valid_seat ON tickets (booking_id, seat_id) WHERE revoked_at IS NULL;
CREATE INDEX tickets_booking ON tickets (booking_id);
CREATE INDEX tickets_holder ON tickets (holder_user_id, issued_at DESC);
CREATE INDEX tickets_revoked_by_event ON tickets (event_id) WHERE revoked_at IS NOT NULL;

-- A ticket's check-in: the primary key admits it exactly once, whichever gate scans first. An
-- offline scan uploaded later that was made earlier takes its place (the earliest scan wins).
CREATE TABLE checkins (
    ticket_id   uuid PRIMARY KEY REFERENCES tickets (id),
    scanned_at  timestamptz NOT NULL,
    gate        text NOT NULL,
    scanner_id  uuid NOT NULL,
    recorded_at timestamptz NOT NULL
);

-- Every scan, admitted or not, for the record.
CREATE TABLE scans (
    id          bigserial PRIMARY KEY,
    ticket_id   uuid,
    event_id    uuid,
    scanned_at  timestamptz NOT NULL,
    gate        text NOT NULL,
    scanner_id  uuid NOT NULL,
    outcome     text NOT NULL,
    offline     boolean NOT NULL DEFAULT false,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scans_ticket ON scans (ticket_id);

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    msg_key      text NOT NULL,
    event_id     text NOT NULL UNIQUE,
    value        bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     int NOT NULL DEFAULT 0,
    lease_until  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
