-- Customers may move their own environments between the plans a host marks selectable, unless
-- the host (or its billing system) has turned self-service off for that customer.

ALTER TABLE plans ADD COLUMN selectable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN self_service INTEGER NOT NULL DEFAULT 1;
