-- Birthday offers and expiry warnings.

-- The birthday job reads one month-day at a time in id order (keyset pages), so the index
-- carries the id: each page is one index range, however many customers share the day.
DROP INDEX customers_birthday_md_idx;
CREATE INDEX customers_birthday_md_idx ON customers (birthday_md, id) WHERE birthday_md IS NOT NULL;

-- When the customer was warned that this lot is about to expire. The `expiry_warnings` job reads
-- the available lots not yet warned in expiry order, so each lot is looked at once, not on every
-- run. (status leads: without it SQLite's planner prefers the release index's equality on status.)
ALTER TABLE point_lots ADD COLUMN expiry_warned_at TIMESTAMP;
CREATE INDEX point_lots_expiry_warning_idx ON point_lots (status, expires_at, id)
    WHERE expiry_warned_at IS NULL AND expires_at IS NOT NULL;

-- Every foreign key has an index: the gift code of an offer.
CREATE INDEX offers_code_idx ON offers (code);
