-- A domain's certificate: obtained by ACME or uploaded by the customer. The private key is
-- sealed with the panel's secret key, like node keys. The edges get both to serve HTTPS.
-- acme_challenges: HTTP-01 answers every edge serves while a CA validates a name.

ALTER TABLE domains ADD COLUMN cert_source TEXT CHECK (cert_source IN ('acme', 'uploaded'));
ALTER TABLE domains ADD COLUMN cert_status TEXT NOT NULL DEFAULT 'none' CHECK (cert_status IN ('none', 'pending', 'issued', 'failed'));
ALTER TABLE domains ADD COLUMN cert_pem TEXT;
ALTER TABLE domains ADD COLUMN cert_key_sealed TEXT;
ALTER TABLE domains ADD COLUMN cert_not_after TEXT;
ALTER TABLE domains ADD COLUMN cert_error TEXT;
ALTER TABLE domains ADD COLUMN cert_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN cert_next_at TEXT;

CREATE TABLE acme_challenges (
  token TEXT PRIMARY KEY,
  ascii_name TEXT NOT NULL,
  key_authorization TEXT NOT NULL,
  created_at TEXT NOT NULL
);
