-- An environment's history counts repeats: an event of the same kind and words as the last one
-- of its kind, within minutes of it, adds to that row (count, last_at) instead of a new row, so
-- an OOM or crash loop cannot fill the database. last_at NULL: it happened once, at `at`.

ALTER TABLE environment_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE environment_events ADD COLUMN last_at TEXT;
