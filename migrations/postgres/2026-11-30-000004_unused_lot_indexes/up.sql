-- No query looks ledger entries or lot spends up by lot (a lot's spends are found by what spent
-- them, through lot_spends' primary key; lots are never deleted, so the foreign keys need no
-- index on the referring side). Every ledger entry and spend paid for these entries.
DROP INDEX ledger_entries_lot_idx;
DROP INDEX lot_spends_lot_idx;
