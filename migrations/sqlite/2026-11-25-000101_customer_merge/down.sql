DROP TRIGGER ledger_entries_no_update;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are immutable');
END;

CREATE TABLE tier_changes_old (
    id                TEXT PRIMARY KEY NOT NULL,
    customer_id       TEXT NOT NULL REFERENCES customers (id),
    from_tier_id      TEXT,
    to_tier_id        TEXT,
    reason            TEXT NOT NULL CHECK (reason IN ('upgrade', 'downgrade')),
    qualifying_points BIGINT NOT NULL,
    at                TIMESTAMP NOT NULL
);
INSERT INTO tier_changes_old
SELECT id, customer_id, from_tier_id, to_tier_id,
       CASE reason WHEN 'merge' THEN 'upgrade' ELSE reason END, qualifying_points, at
FROM tier_changes;
DROP TABLE tier_changes;
ALTER TABLE tier_changes_old RENAME TO tier_changes;
CREATE INDEX tier_changes_customer_idx ON tier_changes (customer_id, at);
