CREATE OR REPLACE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable';
END;
$$ LANGUAGE plpgsql;

ALTER TABLE tier_changes DROP CONSTRAINT tier_changes_reason_check;
UPDATE tier_changes SET reason = 'upgrade' WHERE reason = 'merge';
ALTER TABLE tier_changes ADD CONSTRAINT tier_changes_reason_check
    CHECK (reason IN ('upgrade', 'downgrade'));
