-- A plan change that changes the disk holds the old disk's size too (the larger counts),
-- like CPU and memory in 0006: the old container keeps its data until the new one takes over,
-- so going back must always fit. NULL: nothing held.

ALTER TABLE environments ADD COLUMN held_disk_mb INTEGER;
