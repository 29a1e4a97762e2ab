-- Async top-ups without a job row: a PENDING async transaction is itself the queue
-- entry. The queue locks the oldest ones (FOR UPDATE SKIP LOCKED, through their own
-- partial index), begins their first attempts and commits, all in one database
-- transaction; a worker that dies before that commit leaves them PENDING and unlocked,
-- for the next claim. One insert, one delete and one commit fewer per async purchase.
-- The jobs table stays for the job kinds to come (webhooks, notifications); top-up jobs
-- queued before this migration are redundant now, their transactions being PENDING.
--
-- The queue's index holds only queued purchases: a claim through the open-transactions
-- index walked past every synchronous purchase in flight and every entry left dead by a
-- settlement, on each poll.

DELETE FROM jobs WHERE kind = 'topup';

CREATE INDEX transactions_queued ON transactions (created_at) WHERE status = 'PENDING' AND mode = 'async';

CREATE OR REPLACE FUNCTION recarga_debit(
    p_id TEXT, p_customer TEXT, p_reference TEXT, p_channel TEXT, p_mode TEXT,
    p_product TEXT, p_phone TEXT, p_operator TEXT, p_amount NUMERIC, p_currency TEXT,
    p_rate NUMERIC, p_cost NUMERIC, p_commission NUMERIC, p_charged NUMERIC,
    p_day DATE, p_daily_limit NUMERIC,
    p_upstream TEXT, p_upstream_reference TEXT, p_upstream_product TEXT, p_amount_sent NUMERIC,
    OUT outcome TEXT, OUT balance_after NUMERIC, OUT used NUMERIC, OUT created_at TIMESTAMPTZ, OUT attempt_id BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_status TEXT;
    v_inserted TEXT;
BEGIN
    created_at := now();
    UPDATE customers SET balance_usd = balance_usd - p_charged, updated_at = now()
    WHERE id = p_customer AND status = 'active' AND balance_usd >= p_charged
    RETURNING balance_usd INTO balance_after;
    IF NOT FOUND THEN
        IF recarga_reference_used(p_customer, p_reference) THEN
            outcome := 'duplicate';
            RETURN;
        END IF;
        SELECT c.balance_usd, c.status INTO balance_after, v_status FROM customers c WHERE c.id = p_customer;
        outcome := CASE WHEN v_status = 'active' THEN 'insufficient' ELSE 'inactive' END;
        RETURN;
    END IF;

    IF p_amount <= p_daily_limit THEN
        INSERT INTO daily_usage AS d (customer_id, phone, currency, business_day, amount_local)
        VALUES (p_customer, p_phone, p_currency, p_day, p_amount)
        ON CONFLICT (customer_id, phone, currency, business_day)
        DO UPDATE SET amount_local = d.amount_local + EXCLUDED.amount_local
        WHERE d.amount_local + EXCLUDED.amount_local <= p_daily_limit
        RETURNING d.amount_local INTO used;
    END IF;
    IF used IS NULL THEN
        UPDATE customers SET balance_usd = balance_usd + p_charged WHERE id = p_customer;
        balance_after := NULL;
        IF recarga_reference_used(p_customer, p_reference) THEN
            outcome := 'duplicate';
            RETURN;
        END IF;
        outcome := 'daily_limit';
        SELECT COALESCE((SELECT d.amount_local FROM daily_usage d
            WHERE d.customer_id = p_customer AND d.phone = p_phone AND d.currency = p_currency
              AND d.business_day = p_day), 0) INTO used;
        RETURN;
    END IF;

    INSERT INTO transactions (id, customer_id, reference, channel, mode, product_id, phone, operator,
        amount_local, currency, exchange_rate, cost_usd, commission_usd, charged_usd, business_day,
        status, upstream, created_at, updated_at)
    VALUES (p_id, p_customer, p_reference, p_channel, p_mode, p_product, p_phone, p_operator,
        p_amount, p_currency, p_rate, p_cost, p_commission, p_charged, p_day,
        CASE WHEN p_upstream IS NULL THEN 'PENDING' ELSE 'PROCESSING' END, p_upstream, created_at, created_at)
    ON CONFLICT DO NOTHING
    RETURNING id INTO v_inserted;
    IF v_inserted IS NULL THEN
        -- The reference was used before (or committed by a concurrent request or
        -- instance first), or, in theory, the transaction id clashed.
        UPDATE customers SET balance_usd = balance_usd + p_charged WHERE id = p_customer;
        UPDATE daily_usage SET amount_local = amount_local - p_amount
        WHERE customer_id = p_customer AND phone = p_phone AND currency = p_currency AND business_day = p_day;
        balance_after := NULL;
        used := NULL;
        outcome := 'duplicate';
        RETURN;
    END IF;

    INSERT INTO ledger_entries (customer_id, transaction_id, kind, amount_usd, balance_after_usd)
    VALUES (p_customer, p_id, 'purchase', -p_cost, balance_after + p_commission);
    IF p_commission > 0 THEN
        INSERT INTO ledger_entries (customer_id, transaction_id, kind, amount_usd, balance_after_usd)
        VALUES (p_customer, p_id, 'commission', -p_commission, balance_after);
    END IF;

    IF p_upstream IS NOT NULL THEN
        INSERT INTO attempts (transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status)
        VALUES (p_id, 1, p_upstream, p_upstream_reference, p_upstream_product, p_amount_sent, 'SENT')
        RETURNING id INTO attempt_id;
    END IF;
    outcome := 'created';
END $$;
