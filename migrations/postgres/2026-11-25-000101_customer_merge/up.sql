-- Merging customers moves the source's ledger entries onto the target: the entries stay the same
-- postings (kind, amounts, source, time) but take the target's customer id, a place after the
-- target's last entry, and running balances continued from the target's. The immutability trigger
-- lets exactly that through, and only from a customer already marked as merged into the target.
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
    RAISE EXCEPTION 'ledger entries are immutable';
END;
$$ LANGUAGE plpgsql;

-- A merge can change the surviving customer's tier.
ALTER TABLE tier_changes DROP CONSTRAINT tier_changes_reason_check;
ALTER TABLE tier_changes ADD CONSTRAINT tier_changes_reason_check
    CHECK (reason IN ('upgrade', 'downgrade', 'merge'));
