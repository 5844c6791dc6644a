DROP TRIGGER ledger_entries_no_change ON ledger_entries;
DROP FUNCTION ledger_entries_immutable();
DROP TABLE ledger_entries;
DROP TABLE point_lots;
DROP TABLE balances;
DROP TABLE purchase_returns;
DROP TABLE purchase_lines;
DROP TABLE purchases;
DROP TABLE program;
