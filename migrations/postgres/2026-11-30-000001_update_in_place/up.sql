-- Rows that purchases and redemptions update keep room on their page, so that PostgreSQL can
-- update them in place (a heap-only update: no new index entries, less WAL) rather than move
-- them to another page. Applies to pages written from now on.
ALTER TABLE balances SET (fillfactor = 85);
ALTER TABLE customer_stats SET (fillfactor = 85);
ALTER TABLE qualifying_points SET (fillfactor = 85);
ALTER TABLE customer_usage SET (fillfactor = 85);
ALTER TABLE point_lots SET (fillfactor = 90);
