-- One decider per booking: the booking service records the seat decision it made within the
-- request (NULL: its outcome is unknown, the workflow decides) and whether the booking's workflow
-- was started; only the workflow moves the status. Rows from before this change had their
-- workflow started already (or ended without one).
ALTER TABLE bookings ADD COLUMN hold_decision jsonb;
ALTER TABLE bookings ADD COLUMN workflow_started boolean NOT NULL DEFAULT true;
ALTER TABLE bookings ALTER COLUMN workflow_started SET DEFAULT false;
CREATE INDEX bookings_unstarted ON bookings (created_at) WHERE NOT workflow_started;
ALTER TABLE bookings ADD COLUMN event_starts_at timestamptz;
ALTER TABLE bookings ADD COLUMN max_seats_per_buyer int NOT NULL DEFAULT 0;

-- Idempotency-Key as draft-ietf-httpapi-idempotency-key-header describes it: per user and key, the
-- request's fingerprint, the booking it makes, and once decided the answer given (status and
-- body), replayed for 24 h. DECIDING is held under a lease by the request deciding; RETRY is a key
-- whose request ended in a 5xx while its booking's fate was still open (a retry takes it over).
CREATE TABLE idempotency_requests (
    user_id     text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    booking_id  uuid NOT NULL,
    state       text NOT NULL CHECK (state IN ('DECIDING', 'DONE', 'RETRY')),
    lease_until timestamptz NOT NULL,
    status_code int,
    body        bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- Keys of the first design answered with their booking as it stands: they keep doing so for the
-- rest of their 24 hours (an empty fingerprint matches any body; no stored answer).
INSERT INTO idempotency_requests (user_id, key, fingerprint, booking_id, state, lease_until, created_at)
SELECT user_id, key, '', booking_id, 'DONE', created_at, created_at FROM idempotency_keys
WHERE created_at > now() - interval '24 hours';
DROP TABLE idempotency_keys;
