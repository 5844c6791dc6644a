-- Each customer's ledger entries get a sequence number assigned under the balance row lock, so
-- history is shown in the order postings were applied, not in the order of clock readings.
ALTER TABLE balances ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0);
ALTER TABLE ledger_entries ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;

-- Number existing entries in their best known order; the immutability trigger is lifted only for this.
DROP TRIGGER ledger_entries_no_update;
UPDATE ledger_entries SET seq = (
    SELECT n FROM (
        SELECT id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY created_at, id) AS n
        FROM ledger_entries
    ) numbered WHERE numbered.id = ledger_entries.id
);
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are immutable');
END;
UPDATE balances SET last_seq = (
    SELECT COUNT(*) FROM ledger_entries WHERE ledger_entries.customer_id = balances.customer_id
);

DROP INDEX ledger_entries_customer_idx;
CREATE UNIQUE INDEX ledger_entries_customer_seq ON ledger_entries (customer_id, seq);
