-- A booking whose seats were released (its saga failed, expired or was cancelled) can never hold
-- seats again. A hold sent before the release but applied after it (a request that outlived its
-- caller's timeout, a paused process resumed) is refused instead of taking seats nobody will free.
CREATE TABLE released_bookings (
    booking_id  uuid PRIMARY KEY,
    released_at timestamptz NOT NULL DEFAULT now()
);

-- The buyer a seat is held for or sold to, so that a buyer's seats per event can be counted in
-- the same transaction as a hold (maxSeatsPerBuyer).
ALTER TABLE seats ADD COLUMN buyer_id text;
CREATE INDEX seats_buyer ON seats (event_id, buyer_id) WHERE buyer_id IS NOT NULL;
