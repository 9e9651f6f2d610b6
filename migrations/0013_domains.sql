-- Customers' own domain names on their environments. A name is served once its owner has
-- proved control of it (status 'active'); several customers may claim one name while it is
-- 'pending', and only one may hold it active (the partial unique index).

CREATE TABLE domains (
  id TEXT PRIMARY KEY,
  environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
  customer_id TEXT NOT NULL,
  name TEXT NOT NULL,
  ascii_name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'failed')),
  verification_value TEXT NOT NULL,
  reason TEXT,
  check_attempts INTEGER NOT NULL DEFAULT 0,
  next_check_at TEXT,
  checked_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX domains_active_name ON domains (ascii_name) WHERE status = 'active';
CREATE UNIQUE INDEX domains_environment_name ON domains (environment_id, ascii_name);
CREATE INDEX domains_customer ON domains (customer_id);
CREATE INDEX domains_due ON domains (next_check_at) WHERE status = 'pending';
