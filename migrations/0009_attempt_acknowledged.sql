-- When an upstream first said it holds an attempt's request (an answer or an enquiry
-- said pending/accepted). From then on a "not found" cannot mean the request never
-- arrived: such a transaction goes to REVIEW, never to a refund (DESIGN, Decisions).
-- The upstream's own id for the request (LATCOM's transId, needed for its status
-- lookups) goes in the existing upstream_transaction_id as soon as an answer gives it.
ALTER TABLE attempts ADD COLUMN acknowledged_at TIMESTAMPTZ;
