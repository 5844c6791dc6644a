DROP TRIGGER ledger_entries_no_delete;
DROP TRIGGER ledger_entries_no_update;
DROP TABLE ledger_entries;
DROP TABLE point_lots;
DROP TABLE balances;
DROP TABLE purchase_lines;
DROP TABLE purchases;
DROP TABLE program;
