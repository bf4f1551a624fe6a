CREATE TABLE bookings (
    id              uuid PRIMARY KEY,
    user_id         text NOT NULL,
    user_email      text NOT NULL,
    event_id        text NOT NULL,
    event_name      text NOT NULL,
    seat_ids        text[] NOT NULL,
    amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
    currency        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('PENDING','CONFIRMED','FAILED','EXPIRED','CANCELLED')),
    failure_reason  text,
    hold_expires_at timestamptz NOT NULL,
    payment_id      text,
    payment_token   text NOT NULL DEFAULT 'tok_visa',
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bookings_user ON bookings (user_id, created_at DESC);
CREATE INDEX bookings_event ON bookings (event_id);
CREATE INDEX bookings_pending ON bookings (created_at) WHERE status = 'PENDING';

-- Idempotency-Key: the same key from the same user within 24 h returns the original booking.
CREATE TABLE idempotency_keys (
    user_id    text NOT NULL,
    key        text NOT NULL,
    booking_id uuid NOT NULL REFERENCES bookings (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- Every status a booking went through, with the reason.
CREATE TABLE booking_status_history (
    id         bigserial PRIMARY KEY,
    booking_id uuid NOT NULL REFERENCES bookings (id),
    status     text NOT NULL,
    reason     text,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX booking_status_history_booking ON booking_status_history (booking_id, id);
