-- Which lots a redemption spent, so a cancelled code gives its points back to those lots, with
-- their expiry, instead of as fresh points.
CREATE TABLE lot_spends (
    source_type TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    lot_id      TEXT NOT NULL REFERENCES point_lots (id),
    points      BIGINT NOT NULL CHECK (points > 0),
    PRIMARY KEY (source_type, source_id, lot_id)
);
CREATE INDEX lot_spends_lot_idx ON lot_spends (lot_id);

-- What expired of a lot and has not yet been matched by a return: a return of the purchase
-- takes that part back from nowhere, since it already left the balance.
ALTER TABLE point_lots ADD COLUMN expired BIGINT NOT NULL DEFAULT 0 CHECK (expired >= 0);
UPDATE point_lots SET expired = COALESCE((
    SELECT -e.points FROM ledger_entries e WHERE e.lot_id = point_lots.id AND e.kind = 'expire'
), 0)
WHERE status = 'expired';
