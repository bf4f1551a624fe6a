-- The seat's place in its event's seat plan, so the seat map lists seats in the plan's order
-- (sections as the organiser listed them) rather than alphabetically.
ALTER TABLE seats ADD COLUMN position int NOT NULL DEFAULT 0;
