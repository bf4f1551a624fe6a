-- The outbox relay claims a batch (a lease) in its own statement before publishing it, and counts
-- the claims: a row claimed before (attempts > 0 when claimed again) may be on its topic already —
-- its relay died, or its mark failed, after Kafka took it — so it is looked for before it is sent
-- again. The lease keeps other relays off a batch while it is being published.
ALTER TABLE outbox ADD COLUMN attempts int NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease_until timestamptz;
