-- Kura's first schema: nodes, templates' node cache, plans, customers, tokens,
-- environments with their published ports, durable operations and idempotency keys.

CREATE TABLE nodes (
  id                    TEXT PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  endpoint              TEXT NOT NULL,
  public_host           TEXT NOT NULL,
  tls_ca                TEXT,
  tls_cert              TEXT,
  tls_key_enc           TEXT,
  state                 TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'maintenance', 'disabled')),
  status                TEXT NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline')),
  cpus                  REAL NOT NULL,
  memory_mb             INTEGER NOT NULL,
  disk_mb               INTEGER,
  cpu_overcommit        REAL NOT NULL DEFAULT 4,
  max_environments      INTEGER NOT NULL DEFAULT 30,
  disk_quota            INTEGER NOT NULL,
  allow_unenforced_disk INTEGER NOT NULL DEFAULT 0,
  docker_version        TEXT NOT NULL,
  storage_driver        TEXT NOT NULL,
  last_seen_at          TEXT,
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL
);

CREATE TABLE node_images (
  node_id    TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  image_id   TEXT NOT NULL,
  loaded_at  TEXT NOT NULL,
  PRIMARY KEY (node_id, image_id)
);

CREATE TABLE plans (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  cpus       REAL NOT NULL CHECK (cpus > 0),
  memory_mb  INTEGER NOT NULL CHECK (memory_mb >= 16),
  swap_mb    INTEGER NOT NULL DEFAULT 0 CHECK (swap_mb >= 0),
  disk_mb    INTEGER NOT NULL CHECK (disk_mb >= 64),
  pids       INTEGER NOT NULL CHECK (pids >= 16),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE customers (
  id                  TEXT PRIMARY KEY,
  name                TEXT NOT NULL,
  email               TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash       TEXT,
  status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  limit_environments  INTEGER,
  limit_cpus          REAL,
  limit_memory_mb     INTEGER,
  limit_disk_mb       INTEGER,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL
);

-- Web logins for operators; customers log in with their customer row.
CREATE TABLE admins (
  id            TEXT PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  created_at    TEXT NOT NULL
);

CREATE TABLE tokens (
  id           TEXT PRIMARY KEY,
  customer_id  TEXT REFERENCES customers (id) ON DELETE CASCADE,
  scope        TEXT NOT NULL CHECK (scope IN ('admin', 'customer')),
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  source       TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'env')),
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  CHECK ((scope = 'admin') = (customer_id IS NULL))
);

CREATE TABLE environments (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  customer_id   TEXT NOT NULL REFERENCES customers (id),
  node_id       TEXT NOT NULL REFERENCES nodes (id),
  template_id   TEXT NOT NULL,
  plan_id       TEXT NOT NULL REFERENCES plans (id),
  state         TEXT NOT NULL CHECK (state IN ('provisioning', 'running', 'stopped', 'error', 'migrating', 'deleting', 'unknown')),
  desired_state TEXT NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'stopped')),
  cpus          REAL NOT NULL,
  memory_mb     INTEGER NOT NULL,
  swap_mb       INTEGER NOT NULL,
  disk_mb       INTEGER NOT NULL,
  pids          INTEGER NOT NULL,
  image_id      TEXT,
  container_id  TEXT,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  UNIQUE (customer_id, name)
);
CREATE INDEX environments_node ON environments (node_id);

CREATE TABLE environment_ports (
  environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
  node_id        TEXT NOT NULL REFERENCES nodes (id),
  name           TEXT NOT NULL,
  protocol       TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
  container_port INTEGER NOT NULL,
  host_port      INTEGER NOT NULL,
  PRIMARY KEY (environment_id, name),
  UNIQUE (node_id, protocol, host_port)
);

CREATE TABLE operations (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  progress      INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  message       TEXT NOT NULL DEFAULT '',
  resource_type TEXT NOT NULL,
  resource_id   TEXT NOT NULL,
  customer_id   TEXT,
  params        TEXT NOT NULL DEFAULT '{}',
  error_code    TEXT,
  error_message TEXT,
  attempts      INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE INDEX operations_resource ON operations (resource_id);
CREATE INDEX operations_open ON operations (status) WHERE status IN ('queued', 'running');

CREATE TABLE idempotency_keys (
  owner         TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  status_code   INTEGER,
  response_body TEXT,
  headers       TEXT,
  created_at    TEXT NOT NULL,
  PRIMARY KEY (owner, key)
);

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
