-- Erasure clears the free-text note of a customer's ledger entries (it could hold personal data).
-- Entries stay immutable otherwise: the one update allowed sets `note` to NULL and changes
-- nothing else.
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
