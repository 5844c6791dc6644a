-- Back to erasure's trigger: only the note may be cleared.
DROP TRIGGER ledger_entries_no_update;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
WHEN NOT (NEW.note IS NULL
    AND NEW.id IS OLD.id AND NEW.customer_id IS OLD.customer_id AND NEW.kind IS OLD.kind
    AND NEW.points IS OLD.points AND NEW.pending IS OLD.pending AND NEW.negative IS OLD.negative
    AND NEW.balance_after IS OLD.balance_after AND NEW.pending_after IS OLD.pending_after
    AND NEW.source_type IS OLD.source_type AND NEW.source_id IS OLD.source_id
    AND NEW.lot_id IS OLD.lot_id AND NEW.created_at IS OLD.created_at
    AND NEW.expires_at IS OLD.expires_at AND NEW.seq IS OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are immutable');
END;

CREATE TABLE tier_changes_old (
    id                TEXT PRIMARY KEY NOT NULL,
    customer_id       TEXT NOT NULL REFERENCES customers (id),
    from_tier_id      TEXT,
    to_tier_id        TEXT,
    reason            TEXT NOT NULL CHECK (reason IN ('upgrade', 'downgrade')),
    qualifying_points BIGINT NOT NULL,
    at                TIMESTAMP NOT NULL
);
INSERT INTO tier_changes_old
SELECT id, customer_id, from_tier_id, to_tier_id,
       CASE reason WHEN 'merge' THEN 'upgrade' ELSE reason END, qualifying_points, at
FROM tier_changes;
DROP TABLE tier_changes;
ALTER TABLE tier_changes_old RENAME TO tier_changes;
CREATE INDEX tier_changes_customer_idx ON tier_changes (customer_id, at);
