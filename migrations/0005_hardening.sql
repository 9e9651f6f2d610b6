-- Container hardening from the CIS Docker Benchmark's runtime checks: a per-plan limit on
-- open files (5.19), and the environment's health as its template's health check reports it
-- (5.27). A plan's limit is copied onto each environment like its other limits.

ALTER TABLE plans ADD COLUMN nofile INTEGER NOT NULL DEFAULT 16384 CHECK (nofile BETWEEN 64 AND 1048576);
ALTER TABLE environments ADD COLUMN nofile INTEGER NOT NULL DEFAULT 16384;
ALTER TABLE environments ADD COLUMN health TEXT CHECK (health IN ('starting', 'healthy', 'unhealthy'));
