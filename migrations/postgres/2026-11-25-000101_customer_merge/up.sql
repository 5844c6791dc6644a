-- Merging customers moves the source's ledger entries onto the target: the entries stay the same
-- postings (kind, amounts, source, time) but take the target's customer id, a place after the
-- target's last entry, and running balances continued from the target's. The immutability trigger
-- lets exactly that through, and only from a customer already marked as merged into the target.
-- Erasure's one allowed update (the note cleared, nothing else changed) stays allowed.
CREATE OR REPLACE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.id = OLD.id AND NEW.kind = OLD.kind AND NEW.points = OLD.points
       AND NEW.pending = OLD.pending AND NEW.negative = OLD.negative
       AND NEW.source_type = OLD.source_type AND NEW.source_id = OLD.source_id
       AND NEW.lot_id IS NOT DISTINCT FROM OLD.lot_id AND NEW.note IS NOT DISTINCT FROM OLD.note
       AND NEW.created_at = OLD.created_at AND NEW.expires_at IS NOT DISTINCT FROM OLD.expires_at
       AND EXISTS (SELECT 1 FROM customers
                   WHERE customers.id = OLD.customer_id AND customers.merged_into = NEW.customer_id)
    THEN
        RETURN NEW;
    END IF;
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

-- A merge can change the surviving customer's tier.
ALTER TABLE tier_changes DROP CONSTRAINT tier_changes_reason_check;
ALTER TABLE tier_changes ADD CONSTRAINT tier_changes_reason_check
    CHECK (reason IN ('upgrade', 'downgrade', 'merge'));
