-- Fleet: memory overcommit per node, what an environment's container really looks like
-- (drift), and each environment's lifecycle history from Docker's events.

ALTER TABLE nodes ADD COLUMN memory_overcommit REAL NOT NULL DEFAULT 1;

ALTER TABLE environments ADD COLUMN drift TEXT;

CREATE TABLE environment_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
  at             TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('started', 'stopped', 'died', 'oom', 'removed', 'drift', 'restored', 'unknown')),
  exit_code      INTEGER,
  message        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX environment_events_env ON environment_events (environment_id, id);
