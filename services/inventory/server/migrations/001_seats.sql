-- The truth of who holds a seat: status, hold owner (booking id) and hold expiry in the row.
CREATE TABLE seats (
    event_id    text NOT NULL,
    seat_id     text NOT NULL,
    section     text NOT NULL,
    row_label   text NOT NULL,
    number      int NOT NULL,
    label       text NOT NULL,
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency    text NOT NULL,
    status      text NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN ('AVAILABLE','LOCKED','RESERVED')),
    booking_id  uuid,        -- the holder (LOCKED) or the buyer (RESERVED)
    held_until  timestamptz, -- LOCKED only: after this the seat is AVAILABLE to everyone
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, seat_id),
    CHECK ((status = 'AVAILABLE') = (booking_id IS NULL)),
    CHECK (status <> 'LOCKED' OR held_until IS NOT NULL)
);
CREATE INDEX seats_booking ON seats (booking_id) WHERE booking_id IS NOT NULL;

-- One row per event whose seat plan was loaded: creating seats twice is a no-op.
CREATE TABLE seat_plans (
    event_id   text PRIMARY KEY,
    seat_count int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
