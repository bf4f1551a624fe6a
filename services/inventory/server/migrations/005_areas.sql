-- General admission: an area sold by quantity (a section with a capacity) is one row per place in
-- seats (area = true, id SECTION-NUMBER, no row), so that a place is held, expires, is released,
-- confirmed by its booking, counted in the buyer limit and versioned in the seat map exactly as a
-- seat is: one table holds who has what. A hold takes free places nobody else is taking with
-- FOR UPDATE SKIP LOCKED (BENCHMARKS.md weighs this against counters).
ALTER TABLE seats ADD COLUMN area boolean NOT NULL DEFAULT false;
-- Free places of an area, in plan order: what a hold takes.
CREATE INDEX seats_area_free ON seats (event_id, section, position) WHERE area AND status = 'AVAILABLE';
-- Held places of an area by expiry: expired ones (taken over by a hold like free ones, counted as
-- available by readers) and the next expiry (when a snapshot goes stale).
CREATE INDEX seats_area_held ON seats (event_id, section, held_until) WHERE area AND status = 'LOCKED';

-- One row per area: what the seat map shows of it, and its places by stored status, kept by every
-- transaction that moves its places (after the seat map's version bump, so the counts of a version
-- are those of its commit). Readers count a held place whose hold expired as available.
CREATE TABLE areas (
    event_id    text NOT NULL,
    key         text NOT NULL,   -- seatplan.SectionKey of the section's name: what bookings name
    section     text NOT NULL,   -- the section's name, as its places' seats.section
    capacity    int NOT NULL CHECK (capacity > 0),
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency    text NOT NULL,
    position    int NOT NULL,    -- the position of its first place: the plan's order
    locked      int NOT NULL DEFAULT 0,
    reserved    int NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, key),
    UNIQUE (event_id, section),
    CHECK (locked >= 0 AND reserved >= 0 AND locked + reserved <= capacity)
);

-- A change of an area's places is streamed with the area's counts at its version.
ALTER TABLE seat_changes ADD COLUMN areas jsonb;

-- The seat map reads an event's numbered seats in plan order without stepping over its places.
CREATE INDEX seats_numbered ON seats (event_id, position) WHERE NOT area;
