-- A transaction an upstream holds as pending (DataMart's normal answer) is enquired with
-- backoff, not at every resolver sweep: how many enquiries found it still pending, and
-- when the next one is due. The resolver skips it until then; a notification (webhook)
-- from the upstream still triggers an enquiry at once.
ALTER TABLE transactions
    ADD COLUMN pending_enquiries INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN next_enquiry_at TIMESTAMPTZ;
