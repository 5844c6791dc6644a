DROP INDEX ledger_entries_customer_seq;
CREATE INDEX ledger_entries_customer_idx ON ledger_entries (customer_id, created_at, id);
ALTER TABLE ledger_entries DROP COLUMN seq;
ALTER TABLE balances DROP COLUMN last_seq;
