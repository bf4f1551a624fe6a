-- Where a booking came from: REST, or a booking.initiated message from another producer. The
-- workflow does not announce the latter again (the fact is already on the topic, and a second
-- message with the same eventId would carry different bytes).
ALTER TABLE bookings ADD COLUMN origin text NOT NULL DEFAULT 'rest' CHECK (origin IN ('rest', 'kafka'));
