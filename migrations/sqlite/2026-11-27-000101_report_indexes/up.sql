-- Reports: purchases in a time range (active members, buyers per period) read the customer id
-- from the index alone; ledger movements per kind in a time range sum the covered columns.
CREATE INDEX purchases_time_idx ON purchases (occurred_at, customer_id);
CREATE INDEX ledger_entries_kind_idx ON ledger_entries (kind, created_at, points, pending, negative);
