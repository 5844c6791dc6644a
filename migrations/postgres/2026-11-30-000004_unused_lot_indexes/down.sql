CREATE INDEX ledger_entries_lot_idx ON ledger_entries (lot_id);
CREATE INDEX lot_spends_lot_idx ON lot_spends (lot_id);
