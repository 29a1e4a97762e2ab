-- Webhooks and per-request callbacks (issue 21).
--
-- Events are recorded by triggers in the same database transaction as the change they
-- report, whichever path makes it (the batched settlement, a refund, the resolver, an
-- ops settlement): a settlement that commits has its event, one that rolls back has
-- none. A dispatcher hands each event to its consumers (webhook deliveries today), and
-- deliveries are a durable queue with retries; both survive a restart.

-- Low-balance alerts: an event each time a debit takes the balance below this (NULL: off).
ALTER TABLE customers ADD COLUMN low_balance_usd NUMERIC(18, 2) CHECK (low_balance_usd > 0);

-- One webhook endpoint per reseller. The secret signs every delivery, webhooks and
-- per-purchase callbacks alike (HMAC-SHA256), so the gateway must hold it in a usable
-- form: unlike an API key it cannot be stored as a hash (docs/webhooks.md). It is shown
-- once, when set, and never served by any API. No URL: callbacks only.
CREATE TABLE webhook_endpoints (
    customer_id  TEXT PRIMARY KEY REFERENCES customers(id),
    url          TEXT,
    secret       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A purchase's own callback URL. Written before the debit (the transaction id is known
-- then), so that a settlement can never commit without it; a refused debit leaves a row
-- that names no transaction and is never read.
CREATE TABLE purchase_callbacks (
    transaction_id  TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What the transaction statuses mean as events. A new final status (REVERSED, say) is
-- one more row here; the trigger needs no change.
CREATE TABLE event_kinds (
    status  TEXT PRIMARY KEY,
    kind    TEXT NOT NULL UNIQUE
);
INSERT INTO event_kinds (status, kind) VALUES
    ('SUCCESS', 'transaction.succeeded'),
    ('FAILED', 'transaction.failed'),
    ('REVIEW', 'transaction.review');

CREATE TABLE events (
    id              BIGSERIAL PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    kind            TEXT NOT NULL,
    transaction_id  TEXT REFERENCES transactions(id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Claimed by a dispatcher until then; handed to every consumer at dispatched_at.
    locked_until    TIMESTAMPTZ,
    dispatched_at   TIMESTAMPTZ
);
CREATE INDEX events_undispatched ON events (id) WHERE dispatched_at IS NULL;

CREATE TABLE deliveries (
    id               BIGSERIAL PRIMARY KEY,
    event_id         BIGINT NOT NULL REFERENCES events(id),
    customer_id      TEXT NOT NULL REFERENCES customers(id),
    target           TEXT NOT NULL CHECK (target IN ('webhook', 'callback')),
    url              TEXT NOT NULL,
    -- The exact bytes sent (and signed), fixed at the first attempt so that every
    -- retry and re-send carries the same body.
    body             TEXT,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until     TIMESTAMPTZ,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at     TIMESTAMPTZ,
    -- A consumer may see an event twice (at least once); it is queued once per target.
    UNIQUE (event_id, target)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_customer ON deliveries (customer_id, id);

-- Only when someone listens: a reseller with a webhook, or a purchase with a callback.
-- Otherwise a settlement pays two key lookups and writes nothing.
CREATE FUNCTION events_on_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_kind TEXT;
BEGIN
    SELECT k.kind INTO v_kind FROM event_kinds k WHERE k.status = NEW.status;
    IF v_kind IS NOT NULL AND (
        EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.customer_id = NEW.customer_id)
        OR EXISTS (SELECT 1 FROM purchase_callbacks c WHERE c.transaction_id = NEW.id)) THEN
        INSERT INTO events (customer_id, kind, transaction_id) VALUES (NEW.customer_id, v_kind, NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER transactions_events AFTER UPDATE OF status ON transactions
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION events_on_status();

-- Crossing the threshold downwards, not every debit below it: one alert per fall.
CREATE FUNCTION events_on_low_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (customer_id, kind) VALUES (NEW.id, 'balance.low');
    RETURN NULL;
END $$;
CREATE TRIGGER customers_low_balance AFTER UPDATE OF balance_usd ON customers
    FOR EACH ROW WHEN (NEW.low_balance_usd IS NOT NULL AND OLD.balance_usd >= NEW.low_balance_usd
                       AND NEW.balance_usd < NEW.low_balance_usd)
    EXECUTE FUNCTION events_on_low_balance();
