-- The web panel: sessions, invites, language preferences, the audit log and usage history.

ALTER TABLE customers ADD COLUMN language TEXT CHECK (language IN ('ja', 'en'));
ALTER TABLE admins ADD COLUMN language TEXT CHECK (language IN ('ja', 'en'));

-- A browser session. Only the SHA-256 of the cookie value is stored, so a copy of the
-- database cannot be replayed as a login.
CREATE TABLE sessions (
  id_hash      TEXT PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('admin', 'customer')),
  subject_id   TEXT NOT NULL,
  csrf_token   TEXT NOT NULL,
  ip           TEXT NOT NULL,
  user_agent   TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_subject ON sessions (kind, subject_id);

-- One-time links that let a customer set their own password.
CREATE TABLE invites (
  token_hash  TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  used_at     TEXT
);

-- Who did what, when and from where: every mutation that succeeded, from the API or the web.
CREATE TABLE audit_log (
  id            TEXT PRIMARY KEY,
  at            TEXT NOT NULL,
  actor_kind    TEXT NOT NULL CHECK (actor_kind IN ('admin', 'customer', 'anonymous')),
  actor_id      TEXT,
  actor_label   TEXT NOT NULL,
  customer_id   TEXT,
  via           TEXT NOT NULL CHECK (via IN ('api', 'web')),
  ip            TEXT NOT NULL,
  action        TEXT NOT NULL,
  resource_type TEXT,
  resource_id   TEXT,
  status        INTEGER NOT NULL,
  detail        TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_customer ON audit_log (customer_id, at);

-- Usage sampled once a minute per environment, kept for at least 24 hours.
CREATE TABLE usage_samples (
  environment_id TEXT NOT NULL,
  at             INTEGER NOT NULL, -- unix seconds, at the start of the minute
  cpu_percent    REAL NOT NULL,
  memory_mb      REAL NOT NULL,
  net_rx_bytes   INTEGER NOT NULL, -- received during the interval
  net_tx_bytes   INTEGER NOT NULL,
  PRIMARY KEY (environment_id, at)
) WITHOUT ROWID;
CREATE INDEX usage_samples_at ON usage_samples (at);

-- The admin dashboard's alerts read recent OOMs and failed operations without a scan.
CREATE INDEX environment_events_oom ON environment_events (at) WHERE kind = 'oom';
CREATE INDEX operations_failed ON operations (updated_at) WHERE status = 'failed';
