ALTER TABLE point_lots DROP COLUMN expired;
DROP TABLE lot_spends;
