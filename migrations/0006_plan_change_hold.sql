-- A plan change in flight keeps the room of the plan it came from held (the larger of the
-- two in each dimension counts), so a change that fails can always go back to the old plan
-- without passing a customer's limits or a node's capacity. NULL: nothing held.

ALTER TABLE environments ADD COLUMN held_cpus REAL;
ALTER TABLE environments ADD COLUMN held_memory_mb INTEGER;
