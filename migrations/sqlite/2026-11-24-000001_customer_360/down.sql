DROP TABLE customer_search_terms;
DROP INDEX ledger_entries_customer_time_idx;
DROP TABLE timeline_events;
DROP TABLE customer_usage;
DROP TABLE customer_stats;
DROP INDEX customers_merged_into_idx;
ALTER TABLE customers DROP COLUMN erased_at;
ALTER TABLE customers DROP COLUMN merged_at;
ALTER TABLE customers DROP COLUMN merged_into;
