-- Customers' SSH public keys, for SFTP into their environments. The fingerprint is the
-- SHA-256 of the key blob, as ssh-keygen -l shows it; one customer has a key once.

CREATE TABLE ssh_keys (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  public_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ssh_keys_customer_fingerprint ON ssh_keys (customer_id, fingerprint);
