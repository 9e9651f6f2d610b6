-- What a customer is told when their operation fails: the error without node names, host
-- paths or Docker's words (admins keep reading error_message). NULL on rows from before,
-- which are worded for customers when they are read.

ALTER TABLE operations ADD COLUMN error_customer_message TEXT;
