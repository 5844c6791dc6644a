-- Each customer's ledger entries get a sequence number assigned under the balance row lock, so
-- history is shown in the order postings were applied, not in the order of clock readings.
ALTER TABLE balances ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0);
ALTER TABLE ledger_entries ADD COLUMN seq BIGINT;

-- Number existing entries in their best known order; the immutability trigger is lifted only for this.
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_change;
UPDATE ledger_entries SET seq = numbered.n
FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY created_at, id) AS n
    FROM ledger_entries
) numbered
WHERE numbered.id = ledger_entries.id;
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_no_change;
UPDATE balances SET last_seq = (
    SELECT COUNT(*) FROM ledger_entries WHERE ledger_entries.customer_id = balances.customer_id
);
ALTER TABLE ledger_entries ALTER COLUMN seq SET NOT NULL;

DROP INDEX ledger_entries_customer_idx;
CREATE UNIQUE INDEX ledger_entries_customer_seq ON ledger_entries (customer_id, seq);
