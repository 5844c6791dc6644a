-- Back to erasure's function: only the note may be cleared.
CREATE OR REPLACE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.note IS NULL
        AND (NEW.id, NEW.customer_id, NEW.kind, NEW.points, NEW.pending, NEW.negative,
             NEW.balance_after, NEW.pending_after, NEW.source_type, NEW.source_id, NEW.lot_id,
             NEW.created_at, NEW.expires_at, NEW.seq)
        IS NOT DISTINCT FROM
            (OLD.id, OLD.customer_id, OLD.kind, OLD.points, OLD.pending, OLD.negative,
             OLD.balance_after, OLD.pending_after, OLD.source_type, OLD.source_id, OLD.lot_id,
             OLD.created_at, OLD.expires_at, OLD.seq)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger entries are immutable';
END;
$$ LANGUAGE plpgsql;

ALTER TABLE tier_changes DROP CONSTRAINT tier_changes_reason_check;
UPDATE tier_changes SET reason = 'upgrade' WHERE reason = 'merge';
ALTER TABLE tier_changes ADD CONSTRAINT tier_changes_reason_check
    CHECK (reason IN ('upgrade', 'downgrade'));
