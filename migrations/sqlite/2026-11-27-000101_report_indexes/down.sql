DROP INDEX ledger_entries_kind_idx;
DROP INDEX purchases_time_idx;
