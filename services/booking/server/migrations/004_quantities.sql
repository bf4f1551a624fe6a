-- General admission: the places a booking asks of each area ([{"section":"PIT","quantity":2}], by
-- the area's key, in key order), NULL for a booking of seats only. Its seat_ids may then be empty.
ALTER TABLE bookings ADD COLUMN quantities jsonb;
