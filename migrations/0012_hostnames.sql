-- Default hostnames ("<label>.<KURA_BASE_DOMAIN>"): each label is issued to one environment
-- and never again, even after that environment is deleted, so a DNS record left pointing at
-- an old name can never be taken over by another customer.

CREATE TABLE issued_hostnames (
  label TEXT PRIMARY KEY,
  environment_id TEXT NOT NULL,
  issued_at TEXT NOT NULL
);

ALTER TABLE environments ADD COLUMN hostname_label TEXT;
UPDATE environments SET hostname_label = lower(rtrim(substr(name, 1, 54), '-') || '-' || substr(id, -8));
INSERT INTO issued_hostnames (label, environment_id, issued_at) SELECT hostname_label, id, created_at FROM environments;
CREATE UNIQUE INDEX environments_hostname_label ON environments (hostname_label);
