-- A reversal (SUCCESS → REVERSED, issue 25) is an event for webhooks and callbacks too;
-- the status trigger of 0016 needs only its kind.
INSERT INTO event_kinds (status, kind) VALUES ('REVERSED', 'transaction.reversed');
