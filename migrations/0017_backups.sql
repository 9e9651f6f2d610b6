-- Environment backups (restic snapshots in one repository per customer) and the plans' say
-- over them. A backup keeps the environment's name, template and plan, so it can make a new
-- environment after its own is deleted (until expires_at, the grace period).

CREATE TABLE backups (
  id               TEXT PRIMARY KEY,
  environment_id   TEXT NOT NULL,
  customer_id      TEXT NOT NULL,
  environment_name TEXT NOT NULL,
  template_id      TEXT NOT NULL,
  plan_id          TEXT NOT NULL,
  node_id          TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  kind             TEXT NOT NULL CHECK (kind IN ('manual', 'scheduled')),
  keep             INTEGER NOT NULL DEFAULT 0 CHECK (keep IN (0, 1)),
  note             TEXT NOT NULL DEFAULT '',
  snapshot_id      TEXT,
  size_bytes       INTEGER NOT NULL DEFAULT 0,
  added_bytes      INTEGER NOT NULL DEFAULT 0,
  frozen_ms        INTEGER,
  error            TEXT,
  expires_at       TEXT,
  created_at       TEXT NOT NULL,
  finished_at      TEXT
);
CREATE INDEX backups_environment ON backups (environment_id, created_at);
CREATE INDEX backups_customer ON backups (customer_id, created_at);
CREATE INDEX backups_expiring ON backups (expires_at) WHERE expires_at IS NOT NULL;

ALTER TABLE plans ADD COLUMN backups TEXT NOT NULL
  DEFAULT '{"schedule":"none","keepLast":7,"keepDaily":7,"keepWeekly":4,"storageMb":null}';
