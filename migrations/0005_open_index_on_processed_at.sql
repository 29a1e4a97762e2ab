-- The open-transactions index, keyed on "not processed yet" rather than on status.
--
-- With the predicate on status, any statement that names one open status (a settlement's
-- `status = 'PROCESSING'`, the queue's `status = 'PENDING'`) could be answered from this
-- index, and a generic plan made while the index looked small did so: a bitmap scan of
-- every entry, dead ones included, on each settlement batch. Under load that was most of
-- the database's CPU. `processed_at` is set by every move to a final status and by no
-- other, so this index holds the same rows plus those in REVIEW, which the resolver
-- filters out; and no single-transaction statement implies its predicate.
DROP INDEX transactions_open;
CREATE INDEX transactions_open ON transactions (updated_at) WHERE processed_at IS NULL;
