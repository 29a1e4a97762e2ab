-- The resolver's claim on an open transaction, so that of several instances only one
-- moves it on at a time: taken with FOR UPDATE SKIP LOCKED, released when done, and
-- lapsing by itself (a lease) if the instance that took it dies.
ALTER TABLE transactions ADD COLUMN claimed_by UUID, ADD COLUMN claimed_until TIMESTAMPTZ;
CREATE INDEX transactions_claimed_by ON transactions (claimed_by) WHERE claimed_by IS NOT NULL;
