-- The seat map's version and its change feed. Every transaction that changes seats bumps its
-- event's version and records the change under that version, and notifies 'seat_changes' — which
-- PostgreSQL delivers only on commit, so a rolled-back change is never seen. A snapshot read in
-- one transaction carries exactly the version its statuses are at (the strong ETag), and a
-- watcher resumes from a version (SSE Last-Event-ID).
ALTER TABLE seat_plans ADD COLUMN version bigint NOT NULL DEFAULT 1;

CREATE TABLE seat_changes (
    event_id   text NOT NULL,
    version    bigint NOT NULL,
    seat_ids   text[] NOT NULL,
    status     text NOT NULL CHECK (status IN ('AVAILABLE','LOCKED','RESERVED')),
    held_until timestamptz,
    at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, version)
);
CREATE INDEX seat_changes_at ON seat_changes (at);
