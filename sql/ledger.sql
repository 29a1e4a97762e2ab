-- The ledger: every operation that moves a balance, and nothing else moves one.
--
-- This file is the one source of these functions. `store::migrate` runs it after the
-- migrations on every start (in one transaction, under an advisory lock), so a change
-- to the ledger is a diff here, not a new migration restating a function. It must stay
-- idempotent: functions are CREATE OR REPLACE, types are created only when missing.
-- After installing, `store::ledger::drift` compares the database with this file and
-- refuses to go on if they differ. What CREATE OR REPLACE cannot do needs a forward
-- migration first: a new enum value (ALTER TYPE ... ADD VALUE), a changed composite,
-- a function's changed arguments or results (drop the old one; this file recreates it).
--
-- Rules every function here keeps (docs/decisions.md, "Money"):
-- - a balance changes only together with its ledger entry, in the same transaction,
--   so balance == sum(entries) for every customer; a balance never goes below zero;
-- - a refusal writes nothing, and is answered as an enum value, never an exception,
--   so a refused debit cannot abort the batch it shares a transaction with;
-- - ops actions on money (credits, adjustments, REVIEW settlements) leave an audit
--   note in the same transaction as the money.

-- Types ---------------------------------------------------------------------------

DO $$ BEGIN
    -- One purchase to debit: what the debit batch builds per row from its columns.
    CREATE TYPE recarga_purchase AS (
        id                 TEXT,
        customer_id        TEXT,
        reference          TEXT,
        channel            TEXT,
        mode               TEXT,
        product_id         TEXT,
        phone              TEXT,
        operator           TEXT,
        amount_local       NUMERIC,
        currency           TEXT,
        exchange_rate      NUMERIC,
        cost_usd           NUMERIC,
        commission_usd     NUMERIC,
        charged_usd        NUMERIC,
        business_day       DATE,
        daily_limit_local  NUMERIC,
        -- The first attempt of a purchase sent at once (all NULL for a queued one).
        upstream           TEXT,
        upstream_reference TEXT,
        upstream_product   TEXT,
        amount_sent        NUMERIC);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

DO $$ BEGIN
    -- created: debited and recorded. duplicate: the reference was used before (the
    -- caller reads the original). id_taken: the transaction id exists and the reference
    -- was not used (the caller retries with a fresh id). The rest are refusals.
    CREATE TYPE recarga_debit_outcome AS ENUM
        ('created', 'duplicate', 'id_taken', 'insufficient', 'inactive', 'daily_limit');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

DO $$ BEGIN
    -- Credits and adjustments. below_zero: the balance would go negative.
    CREATE TYPE recarga_posting_outcome AS ENUM
        ('posted', 'customer_not_found', 'invalid_amount', 'note_required', 'below_zero');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

DO $$ BEGIN
    -- Settlements. wrong_status: the transaction is not in a state this settlement
    -- applies to (already final, or not in REVIEW), so nothing was written.
    CREATE TYPE recarga_settlement AS ENUM ('settled', 'not_found', 'wrong_status', 'note_required');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

DO $$ BEGIN
    -- What the upstream confirmed for a transaction in REVIEW.
    CREATE TYPE recarga_review_verdict AS ENUM ('success', 'failed');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- Entries -------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only';
END $$;

-- The debit -----------------------------------------------------------------------

CREATE OR REPLACE FUNCTION recarga_reference_used(p_customer TEXT, p_reference TEXT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT p_reference IS NOT NULL
       AND EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = p_customer AND t.reference = p_reference)
$$;

-- The purchase debit. Everything a purchase commits before the upstream is called
-- happens here, in the caller's transaction: idempotency key, balance check and debit,
-- per-phone daily limit, ledger entries, and for a purchase sent at once its first
-- attempt (PROCESSING); a queued one stays PENDING, itself the queue entry.
-- No sub-transaction: refusals are found before anything is written (balance) or undone
-- by compensating writes in the same transaction (daily limit, a reference or id that
-- is taken), so a debit that shares a transaction with others (the debit batch) cannot
-- abort them. There is no reference pre-check on the way that debits: the transactions
-- insert finds a repeated reference (ON CONFLICT); on the ways that refuse, the
-- reference is checked before answering, so a repeat gets the original, not a refusal.
CREATE OR REPLACE FUNCTION recarga_debit(p recarga_purchase,
    OUT outcome recarga_debit_outcome, OUT balance_after NUMERIC, OUT used NUMERIC,
    OUT created_at TIMESTAMPTZ, OUT attempt_id BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_status TEXT;
    v_inserted TEXT;
BEGIN
    created_at := now();
    UPDATE customers SET balance_usd = balance_usd - p.charged_usd, updated_at = now()
    WHERE id = p.customer_id AND status = 'active' AND balance_usd >= p.charged_usd
    RETURNING balance_usd INTO balance_after;
    IF NOT FOUND THEN
        IF recarga_reference_used(p.customer_id, p.reference) THEN
            outcome := 'duplicate';
            RETURN;
        END IF;
        SELECT c.balance_usd, c.status INTO balance_after, v_status FROM customers c WHERE c.id = p.customer_id;
        outcome := CASE WHEN v_status = 'active' THEN 'insufficient' ELSE 'inactive' END;
        RETURN;
    END IF;

    IF p.amount_local <= p.daily_limit_local THEN
        INSERT INTO daily_usage AS d (customer_id, phone, currency, business_day, amount_local)
        VALUES (p.customer_id, p.phone, p.currency, p.business_day, p.amount_local)
        ON CONFLICT (customer_id, phone, currency, business_day)
        DO UPDATE SET amount_local = d.amount_local + EXCLUDED.amount_local
        WHERE d.amount_local + EXCLUDED.amount_local <= p.daily_limit_local
        RETURNING d.amount_local INTO used;
    END IF;
    IF used IS NULL THEN
        UPDATE customers SET balance_usd = balance_usd + p.charged_usd WHERE id = p.customer_id;
        balance_after := NULL;
        IF recarga_reference_used(p.customer_id, p.reference) THEN
            outcome := 'duplicate';
            RETURN;
        END IF;
        outcome := 'daily_limit';
        SELECT COALESCE((SELECT d.amount_local FROM daily_usage d
            WHERE d.customer_id = p.customer_id AND d.phone = p.phone AND d.currency = p.currency
              AND d.business_day = p.business_day), 0) INTO used;
        RETURN;
    END IF;

    INSERT INTO transactions (id, customer_id, reference, channel, mode, product_id, phone, operator,
        amount_local, currency, exchange_rate, cost_usd, commission_usd, charged_usd, business_day,
        status, upstream, created_at, updated_at)
    VALUES (p.id, p.customer_id, p.reference, p.channel, p.mode, p.product_id, p.phone, p.operator,
        p.amount_local, p.currency, p.exchange_rate, p.cost_usd, p.commission_usd, p.charged_usd, p.business_day,
        CASE WHEN p.upstream IS NULL THEN 'PENDING' ELSE 'PROCESSING' END, p.upstream, created_at, created_at)
    ON CONFLICT DO NOTHING
    RETURNING id INTO v_inserted;
    IF v_inserted IS NULL THEN
        -- The reference was used before (or committed by a concurrent request or
        -- instance first, which this insert waited for), or the transaction id is taken.
        UPDATE customers SET balance_usd = balance_usd + p.charged_usd WHERE id = p.customer_id;
        UPDATE daily_usage SET amount_local = amount_local - p.amount_local
        WHERE customer_id = p.customer_id AND phone = p.phone AND currency = p.currency
          AND business_day = p.business_day;
        balance_after := NULL;
        used := NULL;
        outcome := CASE WHEN recarga_reference_used(p.customer_id, p.reference) THEN 'duplicate' ELSE 'id_taken' END;
        RETURN;
    END IF;

    INSERT INTO ledger_entries (customer_id, transaction_id, kind, amount_usd, balance_after_usd)
    VALUES (p.customer_id, p.id, 'purchase', -p.cost_usd, balance_after + p.commission_usd);
    IF p.commission_usd > 0 THEN
        INSERT INTO ledger_entries (customer_id, transaction_id, kind, amount_usd, balance_after_usd)
        VALUES (p.customer_id, p.id, 'commission', -p.commission_usd, balance_after);
    END IF;

    IF p.upstream IS NOT NULL THEN
        INSERT INTO attempts (customer_id, transaction_id, attempt_no, upstream, upstream_reference,
            upstream_product, amount_sent, status)
        VALUES (p.customer_id, p.id, 1, p.upstream, p.upstream_reference, p.upstream_product, p.amount_sent, 'SENT')
        RETURNING id INTO attempt_id;
    END IF;
    outcome := 'created';
END $$;

-- Refunds -------------------------------------------------------------------------

-- The refund of a purchase its caller has just moved to FAILED (and so holds locked):
-- one reversing entry per debit entry (refund_purchase, refund_commission), the charge
-- back on the balance, and the daily limit released on the original business day.
CREATE OR REPLACE FUNCTION recarga_refund(t transactions) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_balance NUMERIC;
    e RECORD;
BEGIN
    UPDATE customers SET balance_usd = balance_usd + t.charged_usd, updated_at = now()
    WHERE id = t.customer_id
    RETURNING balance_usd - t.charged_usd INTO v_balance;
    FOR e IN SELECT l.kind, l.amount_usd FROM ledger_entries l
             WHERE l.customer_id = t.customer_id AND l.transaction_id = t.id AND l.amount_usd < 0
             ORDER BY l.id LOOP
        v_balance := v_balance - e.amount_usd;
        INSERT INTO ledger_entries (customer_id, transaction_id, kind, amount_usd, balance_after_usd)
        VALUES (t.customer_id, t.id, 'refund_' || e.kind, -e.amount_usd, v_balance);
    END LOOP;
    UPDATE daily_usage SET amount_local = amount_local - t.amount_local
    WHERE customer_id = t.customer_id AND phone = t.phone AND currency = t.currency
      AND business_day = t.business_day;
END $$;

-- Why a settlement found nothing to settle.
CREATE OR REPLACE FUNCTION recarga_not_settled(p_transaction TEXT) RETURNS recarga_settlement
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN EXISTS (SELECT 1 FROM transactions t WHERE t.id = p_transaction)
                THEN 'wrong_status' ELSE 'not_found' END::recarga_settlement
$$;

-- A definite failure: → FAILED with its refund, and the failing attempt's answer
-- recorded. Exactly once: the status update locks the row, so of two concurrent calls
-- the second finds it FAILED and writes nothing (wrong_status).
CREATE OR REPLACE FUNCTION recarga_settle_failure(p_transaction TEXT, p_reason TEXT, p_response_time_ms BIGINT,
    p_attempt_id BIGINT, p_response_code TEXT) RETURNS recarga_settlement
LANGUAGE plpgsql AS $$
DECLARE
    t transactions;
BEGIN
    UPDATE transactions SET status = 'FAILED', failure_reason = p_reason,
        response_time_ms = COALESCE(p_response_time_ms, response_time_ms), processed_at = now(), updated_at = now()
    WHERE id = p_transaction AND status IN ('PENDING', 'PROCESSING', 'REVIEW')
    RETURNING * INTO t;
    IF NOT FOUND THEN
        RETURN recarga_not_settled(p_transaction);
    END IF;
    PERFORM recarga_refund(t);
    PERFORM recarga_volume_changed(t);
    IF p_attempt_id IS NOT NULL THEN
        UPDATE attempts SET status = 'FAILED', response_code = p_response_code, message = p_reason,
            finished_at = now()
        WHERE id = p_attempt_id AND customer_id = t.customer_id;
    END IF;
    RETURN 'settled';
END $$;

-- Ops settle a transaction in REVIEW with what the upstream confirmed: success keeps
-- the debit, failed refunds it. The audit note commits with the settlement, and only a
-- transaction still in REVIEW is settled, so a second settlement writes nothing.
CREATE OR REPLACE FUNCTION recarga_settle_review(p_transaction TEXT, p_verdict recarga_review_verdict, p_note TEXT,
    p_actor TEXT DEFAULT NULL)
    RETURNS recarga_settlement
LANGUAGE plpgsql AS $$
DECLARE
    t transactions;
BEGIN
    IF btrim(COALESCE(p_note, '')) = '' THEN
        RETURN 'note_required';
    END IF;
    UPDATE transactions SET status = CASE p_verdict WHEN 'success' THEN 'SUCCESS' ELSE 'FAILED' END,
        failure_reason = CASE p_verdict WHEN 'failed' THEN p_note ELSE failure_reason END,
        processed_at = now(), updated_at = now()
    WHERE id = p_transaction AND status = 'REVIEW'
    RETURNING * INTO t;
    IF NOT FOUND THEN
        RETURN recarga_not_settled(p_transaction);
    END IF;
    IF p_verdict = 'failed' THEN
        PERFORM recarga_refund(t);
    END IF;
    PERFORM recarga_volume_changed(t);
    INSERT INTO audit_notes (customer_id, transaction_id, action, note, actor)
    VALUES (t.customer_id, t.id, 'review_settled_' || p_verdict, p_note, p_actor);
    RETURN 'settled';
END $$;

-- An upstream reversed a delivered top-up: SUCCESS → REVERSED, refunded like a
-- failure (the debit's exact entries reversed, the daily limit released on the
-- original day), with the upstream's evidence and who recorded it in the audit note,
-- all in one transaction. Only a SUCCESS is reversed, so a second call writes nothing.
CREATE OR REPLACE FUNCTION recarga_reverse(p_transaction TEXT, p_evidence TEXT, p_actor TEXT)
    RETURNS recarga_settlement
LANGUAGE plpgsql AS $$
DECLARE
    t transactions;
BEGIN
    IF btrim(COALESCE(p_evidence, '')) = '' THEN
        RETURN 'note_required';
    END IF;
    UPDATE transactions SET status = 'REVERSED', failure_reason = 'Reversed by the upstream: ' || p_evidence,
        updated_at = now()
    WHERE id = p_transaction AND status = 'SUCCESS'
    RETURNING * INTO t;
    IF NOT FOUND THEN
        RETURN recarga_not_settled(p_transaction);
    END IF;
    PERFORM recarga_refund(t);
    PERFORM recarga_volume_changed(t);
    INSERT INTO audit_notes (customer_id, transaction_id, action, note, actor)
    VALUES (t.customer_id, t.id, 'reversed', p_evidence, p_actor);
    RETURN 'settled';
END $$;

-- Postings: money in or out outside a purchase ------------------------------------

-- One posting of `p_usd` (either sign, cents) to a customer's balance: the balance
-- change, its ledger entry of kind `p_kind` (with the note and who posted it) and the
-- audit note, or nothing at all.
CREATE OR REPLACE FUNCTION recarga_post(p_customer TEXT, p_kind TEXT, p_usd NUMERIC, p_note TEXT,
    p_actor TEXT DEFAULT NULL, OUT outcome recarga_posting_outcome, OUT balance_after NUMERIC)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_usd IS NULL OR p_usd = 0 OR p_usd <> round(p_usd, 2) THEN
        outcome := 'invalid_amount';
        RETURN;
    END IF;
    UPDATE customers SET balance_usd = balance_usd + p_usd, updated_at = now()
    WHERE id = p_customer AND balance_usd + p_usd >= 0
    RETURNING balance_usd INTO balance_after;
    IF NOT FOUND THEN
        SELECT c.balance_usd INTO balance_after FROM customers c WHERE c.id = p_customer;
        outcome := CASE WHEN FOUND THEN 'below_zero' ELSE 'customer_not_found' END;
        RETURN;
    END IF;
    INSERT INTO ledger_entries (customer_id, kind, amount_usd, balance_after_usd, note, actor)
    VALUES (p_customer, p_kind, p_usd, balance_after, p_note, p_actor);
    INSERT INTO audit_notes (customer_id, action, note, actor)
    VALUES (p_customer, p_kind, p_usd || ' USD' || COALESCE(': ' || p_note, ''), p_actor);
    outcome := 'posted';
END $$;

-- Funds received (a wire, an opening balance): positive only; the note is optional;
-- p_actor is the ops user (or "cli") the audit note names.
CREATE OR REPLACE FUNCTION recarga_credit(p_customer TEXT, p_usd NUMERIC, p_note TEXT,
    p_actor TEXT DEFAULT NULL, OUT outcome recarga_posting_outcome, OUT balance_after NUMERIC)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_usd <= 0 THEN
        outcome := 'invalid_amount';
        RETURN;
    END IF;
    SELECT r.outcome, r.balance_after INTO outcome, balance_after FROM recarga_post(p_customer, 'credit', p_usd, p_note, p_actor) r;
END $$;

-- An ops correction, either way; it must say why, and never takes a balance below zero.
-- p_actor is the ops user (or "cli") the audit note names: required, as an adjustment
-- is always someone's decision.
CREATE OR REPLACE FUNCTION recarga_adjust(p_customer TEXT, p_usd NUMERIC, p_note TEXT, p_actor TEXT,
    OUT outcome recarga_posting_outcome, OUT balance_after NUMERIC)
LANGUAGE plpgsql AS $$
BEGIN
    IF btrim(COALESCE(p_note, '')) = '' THEN
        outcome := 'note_required';
        RETURN;
    END IF;
    SELECT r.outcome, r.balance_after INTO outcome, balance_after
    FROM recarga_post(p_customer, 'adjustment', p_usd, p_note, p_actor) r;
END $$;

-- The per-day rollup behind /dashboard (daily_volume, daily_latency; migration 0024) ---
--
-- A job (service::volume) rolls up each closed business day once none of its
-- transactions is PENDING or PROCESSING; pages read rolled-up days from the rollup and
-- count the others (today) live with the same functions. After a day is rolled up its
-- transactions change status only by leaving REVIEW or by a reversal, and the functions
-- above that do so call recarga_volume_changed in their own transaction: the rollup is
-- exact, and the hot path (the settlement batch) never touches it.

-- The latency bucket a time falls in, named by its upper bound in ms: buckets grow by
-- 10 % (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14 … ms), so a percentile read from them is
-- within 10 % above the exact one.
CREATE OR REPLACE FUNCTION recarga_latency_le_ms(p_ms BIGINT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE AS $$
    SELECT ceil(power(1.1::numeric, ceil(ln(greatest(p_ms, 1)) / ln(1.1))::int))::bigint
$$;

-- One reseller's transactions of one business day, by currency and status. They are read
-- through transactions_customer_created within [p_from, p_to), a window of created_at
-- that holds the whole business day (the debit's time), so that the table the hot path
-- writes needs no index on business_day.
CREATE OR REPLACE FUNCTION recarga_day_volume(p_customer TEXT, p_day DATE, p_from TIMESTAMPTZ, p_to TIMESTAMPTZ)
    RETURNS TABLE (currency TEXT, status TEXT, count BIGINT, amount_local NUMERIC, charged_usd NUMERIC)
LANGUAGE sql STABLE AS $$
    SELECT t.currency, t.status, count(*), sum(t.amount_local), sum(t.charged_usd)
    FROM transactions t
    WHERE t.customer_id = p_customer AND t.created_at >= p_from AND t.created_at < p_to
      AND t.business_day = p_day
    GROUP BY t.currency, t.status
$$;

-- The upstream response times (response_time_ms) of one reseller's delivered top-ups of
-- one business day, counted per latency bucket.
CREATE OR REPLACE FUNCTION recarga_day_latency(p_customer TEXT, p_day DATE, p_from TIMESTAMPTZ, p_to TIMESTAMPTZ)
    RETURNS TABLE (le_ms BIGINT, count BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT recarga_latency_le_ms(t.response_time_ms), count(*)
    FROM transactions t
    WHERE t.customer_id = p_customer AND t.created_at >= p_from AND t.created_at < p_to
      AND t.business_day = p_day AND t.status = 'SUCCESS' AND t.response_time_ms IS NOT NULL
    GROUP BY 1
$$;

-- The advisory lock of a business day's rollup: the roll-up takes it exclusively, every
-- status change after it shares it, so a change is either seen by the roll-up or recounted.
CREATE OR REPLACE FUNCTION recarga_volume_day_lock(p_day DATE, p_exclusive BOOLEAN) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_exclusive THEN
        PERFORM pg_advisory_xact_lock(hashtext('recarga_daily_volume'), p_day - DATE '2000-01-01');
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext('recarga_daily_volume'), p_day - DATE '2000-01-01');
    END IF;
END $$;

-- Write one reseller's rows (or every reseller's, p_customer NULL) of a rolled-up day.
CREATE OR REPLACE FUNCTION recarga_volume_write(p_customer TEXT, p_day DATE, p_from TIMESTAMPTZ, p_to TIMESTAMPTZ)
    RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM daily_volume WHERE business_day = p_day AND customer_id = COALESCE(p_customer, customer_id);
    DELETE FROM daily_latency WHERE business_day = p_day AND customer_id = COALESCE(p_customer, customer_id);
    INSERT INTO daily_volume (customer_id, business_day, currency, status, count, amount_local, charged_usd)
    SELECT c.id, p_day, v.currency, v.status, v.count, v.amount_local, v.charged_usd
    FROM customers c, LATERAL recarga_day_volume(c.id, p_day, p_from, p_to) v
    WHERE c.id = COALESCE(p_customer, c.id);
    INSERT INTO daily_latency (customer_id, business_day, le_ms, count)
    SELECT c.id, p_day, l.le_ms, l.count
    FROM customers c, LATERAL recarga_day_latency(c.id, p_day, p_from, p_to) l
    WHERE c.id = COALESCE(p_customer, c.id);
END $$;

-- Roll up a closed business day whose created_at lie in [p_from, p_to): true if done
-- now, false if it was already, or if a transaction of it is still PENDING or
-- PROCESSING (the settlement batch moves those without telling the rollup).
CREATE OR REPLACE FUNCTION recarga_volume_roll_up(p_day DATE, p_from TIMESTAMPTZ, p_to TIMESTAMPTZ) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM recarga_volume_day_lock(p_day, true);
    IF EXISTS (SELECT 1 FROM volume_days WHERE business_day = p_day)
       OR EXISTS (SELECT 1 FROM transactions WHERE processed_at IS NULL AND status IN ('PENDING', 'PROCESSING')
                  AND business_day = p_day) THEN
        RETURN false;
    END IF;
    INSERT INTO volume_days (business_day) VALUES (p_day);
    PERFORM recarga_volume_write(NULL, p_day, p_from, p_to);
    RETURN true;
END $$;

-- A transaction changed status (out of REVIEW, or reversed): if its day is rolled up,
-- recount its reseller's rows of that day. The window is wide (a day either side), as
-- the time zone the day was cut in is not known here; recounts are rare.
CREATE OR REPLACE FUNCTION recarga_volume_changed(t transactions) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_start TIMESTAMPTZ := t.business_day::timestamp AT TIME ZONE 'UTC';
BEGIN
    PERFORM recarga_volume_day_lock(t.business_day, false);
    IF NOT EXISTS (SELECT 1 FROM volume_days WHERE business_day = t.business_day) THEN
        RETURN;
    END IF;
    -- Two changes of one reseller's day recount one after the other, each seeing the other's.
    PERFORM pg_advisory_xact_lock(hashtextextended(t.customer_id || '/' || t.business_day, 0));
    PERFORM recarga_volume_write(t.customer_id, t.business_day, v_start - interval '1 day', v_start + interval '2 days');
END $$;
