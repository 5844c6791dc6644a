DROP INDEX offers_code_idx;
DROP INDEX point_lots_expiry_warning_idx;
ALTER TABLE point_lots DROP COLUMN expiry_warned_at;
DROP INDEX customers_birthday_md_idx;
CREATE INDEX customers_birthday_md_idx ON customers (birthday_md) WHERE birthday_md IS NOT NULL;
