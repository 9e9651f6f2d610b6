-- SFTP logins (accepted and refused) are audited beside the API and the web panel, so the
-- log's `via` admits 'sftp'. SQLite cannot change a CHECK in place: the table is rebuilt.

CREATE TABLE audit_log_next (
  id            TEXT PRIMARY KEY,
  at            TEXT NOT NULL,
  actor_kind    TEXT NOT NULL CHECK (actor_kind IN ('admin', 'customer', 'anonymous')),
  actor_id      TEXT,
  actor_label   TEXT NOT NULL,
  customer_id   TEXT,
  via           TEXT NOT NULL CHECK (via IN ('api', 'web', 'sftp')),
  ip            TEXT NOT NULL,
  action        TEXT NOT NULL,
  resource_type TEXT,
  resource_id   TEXT,
  status        INTEGER NOT NULL,
  detail        TEXT
);
INSERT INTO audit_log_next SELECT id, at, actor_kind, actor_id, actor_label, customer_id, via, ip, action,
  resource_type, resource_id, status, detail FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_next RENAME TO audit_log;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_customer ON audit_log (customer_id, at);
