-- Stored idempotent responses are sealed with the panel's key from now on. Responses stored
-- before were kept in clear, and a new token's response carries the token's value: those are
-- dropped (a repeat of such a request within its 48 hours now runs again instead of being
-- replayed). Other stored responses hold nothing secret and replay as before.

DELETE FROM idempotency_keys WHERE response_body LIKE '%"token":"kura_%';
