-- Merging customers moves the source's ledger entries onto the target: the entries stay the same
-- postings (kind, amounts, source, time) but take the target's customer id, a place after the
-- target's last entry, and running balances continued from the target's. The immutability trigger
-- lets exactly that through, and only from a customer already marked as merged into the target.
-- Erasure's one allowed update (the note cleared, nothing else changed) stays allowed.
DROP TRIGGER ledger_entries_no_update;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
WHEN NOT (
    (NEW.id = OLD.id AND NEW.kind = OLD.kind AND NEW.points = OLD.points
     AND NEW.pending = OLD.pending AND NEW.negative = OLD.negative
     AND NEW.source_type = OLD.source_type AND NEW.source_id = OLD.source_id
     AND NEW.lot_id IS OLD.lot_id AND NEW.note IS OLD.note
     AND NEW.created_at = OLD.created_at AND NEW.expires_at IS OLD.expires_at
     AND EXISTS (SELECT 1 FROM customers
                 WHERE customers.id = OLD.customer_id AND customers.merged_into = NEW.customer_id))
    OR
    (NEW.note IS NULL
     AND NEW.id IS OLD.id AND NEW.customer_id IS OLD.customer_id AND NEW.kind IS OLD.kind
     AND NEW.points IS OLD.points AND NEW.pending IS OLD.pending AND NEW.negative IS OLD.negative
     AND NEW.balance_after IS OLD.balance_after AND NEW.pending_after IS OLD.pending_after
     AND NEW.source_type IS OLD.source_type AND NEW.source_id IS OLD.source_id
     AND NEW.lot_id IS OLD.lot_id AND NEW.created_at IS OLD.created_at
     AND NEW.expires_at IS OLD.expires_at AND NEW.seq IS OLD.seq)
)
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are immutable');
END;

-- A merge can change the surviving customer's tier. SQLite changes a CHECK only by rebuilding the
-- table; nothing refers to tier_changes.
CREATE TABLE tier_changes_new (
    id                TEXT PRIMARY KEY NOT NULL,
    customer_id       TEXT NOT NULL REFERENCES customers (id),
    from_tier_id      TEXT,
    to_tier_id        TEXT,
    reason            TEXT NOT NULL CHECK (reason IN ('upgrade', 'downgrade', 'merge')),
    qualifying_points BIGINT NOT NULL,
    at                TIMESTAMP NOT NULL
);
INSERT INTO tier_changes_new SELECT id, customer_id, from_tier_id, to_tier_id, reason, qualifying_points, at FROM tier_changes;
DROP TABLE tier_changes;
ALTER TABLE tier_changes_new RENAME TO tier_changes;
CREATE INDEX tier_changes_customer_idx ON tier_changes (customer_id, at);
