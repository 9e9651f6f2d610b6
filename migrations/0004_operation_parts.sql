-- Typed operations: what an operation is given (params), what it records while it runs so a
-- re-run finishes the same way (checkpoint), and what it reports at the end (result) are kept
-- apart, and a batch's child moves name their batch in a column of their own.

ALTER TABLE operations ADD COLUMN checkpoint TEXT NOT NULL DEFAULT '{}';
ALTER TABLE operations ADD COLUMN result TEXT;
ALTER TABLE operations ADD COLUMN parent_id TEXT;

-- Until now all three lived in params: a move's chosen ports, a batch's plan and result, and
-- a child move's parent.
UPDATE operations SET parent_id = json_extract(params, '$.parentId') WHERE json_extract(params, '$.parentId') IS NOT NULL;
UPDATE operations SET checkpoint = json_object('ports', json_extract(params, '$.ports'))
  WHERE kind = 'migrate' AND json_extract(params, '$.ports') IS NOT NULL;
UPDATE operations SET checkpoint = json_object('plan', json_extract(params, '$.plan'))
  WHERE kind IN ('consolidate', 'rebalance') AND json_extract(params, '$.plan') IS NOT NULL;
UPDATE operations SET result = json_extract(params, '$.result')
  WHERE kind IN ('evacuate', 'restore', 'consolidate', 'rebalance') AND json_extract(params, '$.result') IS NOT NULL;
UPDATE operations SET params = json_remove(params, '$.parentId', '$.ports', '$.plan', '$.result');

CREATE INDEX operations_parent ON operations (parent_id) WHERE parent_id IS NOT NULL;
