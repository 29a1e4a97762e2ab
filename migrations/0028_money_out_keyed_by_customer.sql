-- Webhook events and deliveries, and invoices with their totals and lines, keyed by
-- (customer_id, …) as a distribution by customer needs (docs/scaling.md, "Past one
-- PostgreSQL"): every primary key and unique index holds the customer, and every
-- foreign key between these tables (and to `transactions`, through migration 0027's
-- index) pairs it.

-- Invoice totals and lines name their reseller. The backfill only adds the key of rows
-- already issued (their content is unchanged), so the immutability triggers of 0012 are
-- set aside for it, inside this migration's transaction.
ALTER TABLE invoice_totals ADD COLUMN customer_id TEXT;
ALTER TABLE invoice_lines ADD COLUMN customer_id TEXT;
ALTER TABLE invoice_totals DISABLE TRIGGER invoice_totals_no_change;
ALTER TABLE invoice_lines DISABLE TRIGGER invoice_lines_no_change;
UPDATE invoice_totals t SET customer_id = i.customer_id FROM invoices i WHERE i.number = t.invoice_number;
UPDATE invoice_lines l SET customer_id = i.customer_id FROM invoices i WHERE i.number = l.invoice_number;
ALTER TABLE invoice_totals ENABLE TRIGGER invoice_totals_no_change;
ALTER TABLE invoice_lines ENABLE TRIGGER invoice_lines_no_change;
ALTER TABLE invoice_totals ALTER COLUMN customer_id SET NOT NULL;
ALTER TABLE invoice_lines ALTER COLUMN customer_id SET NOT NULL;

ALTER TABLE invoice_totals DROP CONSTRAINT invoice_totals_invoice_number_fkey;
ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_invoice_number_fkey,
    DROP CONSTRAINT invoice_lines_transaction_id_fkey;

-- An invoice number is unique across resellers by construction: it spells its month
-- and its reseller (domain::invoice::number), and the check makes the database hold
-- every row to that, so one number can only ever belong to one customer and the key
-- (customer_id, number) is as strict as `number` alone was.
ALTER TABLE invoices DROP CONSTRAINT invoices_pkey,
    ADD PRIMARY KEY (customer_id, number),
    ADD CONSTRAINT invoices_number_names_month_and_customer
        CHECK (number = 'INV-' || to_char(period_start, 'YYYYMM') || '-' || customer_id);
ALTER TABLE invoice_totals DROP CONSTRAINT invoice_totals_pkey,
    ADD PRIMARY KEY (customer_id, invoice_number, currency),
    ADD FOREIGN KEY (customer_id, invoice_number) REFERENCES invoices (customer_id, number);
ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_pkey,
    ADD PRIMARY KEY (customer_id, invoice_number, transaction_id),
    ADD FOREIGN KEY (customer_id, invoice_number) REFERENCES invoices (customer_id, number),
    ADD FOREIGN KEY (customer_id, transaction_id) REFERENCES transactions (customer_id, id);

-- Events and deliveries. Their ids come from one sequence each, so they stay unique
-- across customers by construction; every read names the customer with the id (a
-- delivery carries its event's customer), so no index on the id alone is kept.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_transaction_id_fkey,
    DROP CONSTRAINT events_pkey,
    ADD PRIMARY KEY (customer_id, id),
    ADD FOREIGN KEY (customer_id, transaction_id) REFERENCES transactions (customer_id, id);
-- The new primary key reads a reseller's deliveries newest first, as deliveries_customer did.
DROP INDEX deliveries_customer;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_pkey,
    DROP CONSTRAINT deliveries_event_id_target_key,
    ADD PRIMARY KEY (customer_id, id),
    ADD UNIQUE (customer_id, event_id, target),
    ADD FOREIGN KEY (customer_id, event_id) REFERENCES events (customer_id, id);
